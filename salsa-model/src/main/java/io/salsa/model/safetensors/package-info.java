/**
 * Reading and writing safetensors files byte-compatibly with Hugging Face, validating every header, in
 * streaming chunks, so weights move between Java and Python tools unchanged.
 *
 * <p>Plain Java, Jackson and salsa-runtime's file helpers: may not depend on DJL, the model, Kafka or any service.
 */
package io.salsa.model.safetensors;
