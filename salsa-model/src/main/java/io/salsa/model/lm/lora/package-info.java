/**
 * LoRA adapters (Hu et al. 2021) on the linear layers of an {@link io.salsa.model.lm.Adaptable} model, in PEFT's
 * folder format: {@link io.salsa.model.lm.lora.LoraConfig} ({@code adapter_config.json}) and
 * {@link io.salsa.model.lm.lora.LoraAdapter} (attach, enable/disable, train A/B with the base frozen, merge, load, save).
 */
package io.salsa.model.lm.lora;
