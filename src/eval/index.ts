export { evaluate, availableVariants, type EvaluateOptions, type EvalResult, type VariantResult, type QueryResult } from "./evaluate.js";
export { loadDataset, loadBeir, loadQaSet, type EvalDataset, type EvalQuery } from "./datasets.js";
export { recallAt, precisionAt, mrrAt, ndcgAt, pairedComparison, tokenF1, percentile, type PairedComparison } from "./metrics.js";
export { renderHtmlReport } from "./report-html.js";
export { formatResultTable } from "./format-table.js";
