/**
 * The Llama-family decoder (Llama, Mistral, Qwen2, Gemma) as a {@link io.salsa.model.lm.CausalLm}: config parsing
 * of both transformers layouts, RMSNorm, rotate-half RoPE with scaling, grouped-query attention, gated MLPs, the
 * pre-allocated KV cache and Hugging Face-compatible loading and saving.
 *
 * <p>May not depend on Kafka, topics, the blob store, the task world or any service.
 */
package io.salsa.model.lm.llama;
