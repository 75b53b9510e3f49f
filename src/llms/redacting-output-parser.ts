import type { BaseMessage } from "@langchain/core/messages";
import { StringOutputParser } from "@langchain/core/output_parsers";
import { streamRedactor } from "../errors/index.js";

/**
 * StringOutputParser that replaces secrets in the model's text with `<redacted>`, streamed or not:
 * a hostile or misconfigured server can echo the API key it was sent as answer text. A secret split
 * across streamed chunks is caught too (see streamRedactor). The secrets stay out of the parser's
 * serialized form, which callbacks and tracers receive.
 */
export class RedactingOutputParser extends StringOutputParser {
  static override lc_name() {
    return "RedactingOutputParser";
  }

  override lc_serializable = false;
  readonly #secrets: readonly string[];

  constructor(secrets: readonly string[]) {
    super();
    this.#secrets = secrets;
  }

  override parse(text: string): Promise<string> {
    const redactor = streamRedactor(this.#secrets);
    return Promise.resolve(redactor.write(text) + redactor.end());
  }

  override async *_transform(input: AsyncGenerator<string | BaseMessage>): AsyncGenerator<string> {
    const redactor = streamRedactor(this.#secrets);
    for await (const chunk of super._transform(input)) {
      const shown = redactor.write(chunk);
      if (shown) yield shown;
    }
    const rest = redactor.end();
    if (rest) yield rest;
  }
}
