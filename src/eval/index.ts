export {
  evaluate,
  availableVariants,
  ADAPTIVE,
  type EvaluateOptions,
  type EvalResult,
  type VariantResult,
  type QueryResult,
  type QueryAnswer,
} from "./evaluate.js";
export { loadDataset, loadBeir, loadQaSet, type EvalDataset, type EvalQuery } from "./datasets.js";
export { recallAt, precisionAt, mrrAt, ndcgAt, pairedComparison, tokenF1, percentile, type PairedComparison } from "./metrics.js";
export { renderHtmlReport, frontierChart } from "./report-html.js";
export { verdictFor, formatVerdict, DEFAULT_VERDICT_THRESHOLDS, type Verdict, type VerdictThresholds, type Decision } from "./verdict.js";
export { formatResultTable } from "./format-table.js";
