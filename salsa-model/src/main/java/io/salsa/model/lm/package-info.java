/**
 * The GPT-2-compatible causal language model in DJL (Hugging Face layout and names), with the value and score
 * heads PPO and reward models need, fp16 autocast, and the PyTorch-filled constants ({@link
 * io.salsa.model.lm.Scalars}) every loss on the autograd path must use.
 *
 * <p>May not depend on Kafka, topics, the blob store, the task world or any service.
 */
package io.salsa.model.lm;
