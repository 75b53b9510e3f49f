import { DocumentCompressorPipeline } from "@langchain/classic/retrievers/document_compressors";
import type { Callbacks } from "@langchain/core/callbacks/manager";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { disposeOf } from "../util/dispose.js";
import { defaultMinScoreOf } from "./cut-off.js";

/** One stage of a cascade: a re-ranker and how many of its best it hands on (all, when absent). */
export interface CascadeStage {
  compressor: BaseDocumentCompressor;
  keep?: number;
  /** Shown in traces; defaults to the compressor's class name. */
  name?: string;
}

/** What one stage did for one call (the `stages` of the `rerank` event). */
export interface CascadeStageReport {
  reranker: string;
  candidates: number;
  returned: number;
  ms: number;
}

/** Metadata key under which each stage appends its report to the documents it returns. */
export const CASCADE_REPORT_KEY = "rerankStages";

/**
 * One step of the pipeline: re-ranks, keeps the best `keep`, and appends what it did to the
 * documents' `rerankStages`. An earlier stage's score is dropped from the inputs, so the
 * documents leave with the last stage's score alone.
 */
class CascadeStep extends BaseDocumentCompressor {
  constructor(private readonly stage: CascadeStage) {
    super();
  }

  async compressDocuments(documents: DocumentInterface[], query: string, callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const started = performance.now();
    const inputs = documents.map((doc) => {
      const { rerankScore: _score, relevanceScore: _relevance, evidenceScore: _evidence, ...metadata }: Record<string, unknown> = doc.metadata;
      return new Document({ pageContent: doc.pageContent, metadata, id: doc.id });
    });
    const ranked = await this.stage.compressor.compressDocuments(inputs, query, callbacks);
    const kept = this.stage.keep === undefined ? ranked : ranked.slice(0, this.stage.keep);
    const before = (documents[0]?.metadata[CASCADE_REPORT_KEY] as CascadeStageReport[] | undefined) ?? [];
    const report: CascadeStageReport = {
      reranker: this.stage.name ?? this.stage.compressor.constructor.name,
      candidates: documents.length,
      returned: kept.length,
      ms: Math.round((performance.now() - started) * 100) / 100,
    };
    const stages = [...before, report];
    return kept.map((doc) => new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, [CASCADE_REPORT_KEY]: stages }, id: doc.id }));
  }
}

/**
 * A cascade: a cheap re-ranker narrows the candidates before an expensive one
 * (`bm25:20,cross-encoder`). LangChain's DocumentCompressorPipeline runs the stages; each
 * records what it did in the documents' `rerankStages` (the re-ranking retriever moves it
 * into its `rerank` event).
 */
export class RerankCascade extends DocumentCompressorPipeline {
  readonly stages: readonly CascadeStage[];

  constructor(stages: CascadeStage[]) {
    super({ transformers: stages.map((stage) => new CascadeStep(stage)) });
    this.stages = stages;
  }

  /** Loads every stage's local model now (a missing one fails before any question). */
  async load(): Promise<void> {
    await Promise.all(this.stages.map((s) => (s.compressor as { load?: () => Promise<unknown> }).load?.() ?? Promise.resolve()));
  }

  /** Releases every stage's model (see `disposeOf`). */
  async dispose(): Promise<void> {
    await Promise.all(this.stages.map((s) => disposeOf(s.compressor)));
  }

  /** The evidence cut-off is the last stage's: its scores are the ones the documents leave with. */
  get defaultMinScore(): number | undefined {
    return defaultMinScoreOf(this.stages.at(-1)?.compressor);
  }

  /** The stages' names, e.g. `bm25:20 → cross-encoder`. */
  get description(): string {
    return this.stages.map((s) => `${s.name ?? s.compressor.constructor.name}${s.keep === undefined ? "" : `:${s.keep}`}`).join(" → ");
  }
}

/** The stage reports a cascade left on its output, and the documents without them. */
export function takeCascadeReport(documents: DocumentInterface[]): { documents: Document[]; stages?: CascadeStageReport[] } {
  const stages = documents[0]?.metadata[CASCADE_REPORT_KEY] as CascadeStageReport[] | undefined;
  if (!stages) return { documents: documents as Document[] };
  return {
    stages,
    documents: documents.map((doc) => {
      const { [CASCADE_REPORT_KEY]: _stages, ...metadata }: Record<string, unknown> = doc.metadata;
      return new Document({ pageContent: doc.pageContent, metadata, id: doc.id });
    }),
  };
}
