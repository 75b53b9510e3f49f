// An inference worker: one onnxruntime session; the main thread tokenizes and sends int64
// tensors (see InferencePool).
import { parentPort, workerData } from "node:worker_threads";
import { loadForwardPass, type ForwardSettings, type FromWorker, type ToWorker } from "./forward-pass.js";

const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

try {
  const pass = await loadForwardPass(workerData as ForwardSettings);
  // Never rejects: a failed run is answered with an error message.
  const answer = async (message: ToWorker) => {
    try {
      const logits = await pass.run(message.inputs);
      post({ type: "result", logits }, logits ? [logits.data.buffer as ArrayBuffer] : []);
    } catch (error) {
      post({ type: "error", message: reason(error) });
    }
  };
  port.on("message", (message: ToWorker) => void answer(message));
  post({ type: "ready" });
} catch (error) {
  post({ type: "loadError", message: reason(error) });
}
