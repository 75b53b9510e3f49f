import { describeProviderError, type ProviderEndpoint } from "../providers/provider-failure.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base must take any arguments
type EmbeddingsClass = new (...args: any[]) => EmbeddingsMethods;
/** What a concrete embeddings class implements (abstract in Embeddings). */
interface EmbeddingsMethods {
  embedDocuments(documents: string[]): Promise<number[][]>;
  embedQuery(document: string): Promise<number[]>;
}

/**
 * A subclass of a remote embeddings class (OpenAIEmbeddings, CohereEmbeddings) whose failures are
 * ProviderErrors naming the provider, endpoint and reason with a hint (keys redacted), through the
 * same mapping as the chat models. Wrapped here, not at the ingest boundary, so every caller gets
 * them: ingest, the query embedding of `ask`, and library users of createPretrainedEmbeddings.
 */
export function withEmbeddingErrors<C extends EmbeddingsClass>(Base: C, endpoint: ProviderEndpoint): C {
  return class extends Base {
    override async embedDocuments(documents: string[]): Promise<number[][]> {
      try {
        return await super.embedDocuments(documents);
      } catch (error) {
        throw describeProviderError(error, endpoint);
      }
    }

    override async embedQuery(document: string): Promise<number[]> {
      try {
        return await super.embedQuery(document);
      } catch (error) {
        throw describeProviderError(error, endpoint);
      }
    }
  };
}
