/**
 * The soup-builder service: keeps every configured recipe's soup current on the compacted soup topic as SFT
 * models land, refusing (and dead-lettering) members that fail their checksum or do not fit; also
 * {@code salsa sft publish}.
 *
 * <p>Depends on {@code salsa-runtime} and the model library's soups; may not depend on another service or
 * (outside tests) on {@code salsa-broker}.
 */
package io.salsa.soup.builder;
