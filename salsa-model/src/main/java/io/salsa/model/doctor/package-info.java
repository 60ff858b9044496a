/**
 * {@code salsa doctor}: what DJL and PyTorch this process runs on (engine, version, CPU or CUDA flavour, where the
 * native library came from), the devices PyTorch sees, and a timed matmul and forward pass on each, so a GPU user
 * can check a machine before starting services on it.
 */
package io.salsa.model.doctor;
