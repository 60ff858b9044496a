/**
 * Hugging Face tokenizers through DJL's binding with DJL's defaults switched off (no special tokens added, no
 * truncation), chat templates rendered as transformers renders them (Jinjava), and a deterministic byte-level BPE
 * trainer for the built-in task.
 *
 * <p>May not depend on the model, Kafka or any service.
 */
package io.salsa.model.tokenizer;
