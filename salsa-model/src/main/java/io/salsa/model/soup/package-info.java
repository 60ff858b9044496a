/**
 * Model soups: the streaming, bit-reproducible weight average of K fine-tuned models (uniform, weighted,
 * greedy), refusing members whose tensors do not match, and the {@code salsa soup} command.
 *
 * <p>Works on safetensors files: may not depend on DJL's network code ({@code io.salsa.model.lm}), Kafka or any
 * service; the greedy soup gets its evaluation from the caller.
 */
package io.salsa.model.soup;
