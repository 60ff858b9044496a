package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Scalars;

/** Language-model losses over padded batches, as small functions free of I/O so SFT, eval and PPO share them. */
public final class LmLoss {

    private LmLoss() {
    }

    /** Σ(x·mask) / max(Σmask, 1): the mean of {@code x} over the positions that count. */
    public static NDArray maskedMean(NDArray x, NDArray mask) {
        NDArray m = mask.toType(x.getDataType(), false);
        return x.mul(m).sum().div(m.sum().maximum(1f));
    }

    /**
     * Mean next-token cross-entropy over the target positions: {@code lossMask[b, t]} = 1 when token t+1 of
     * {@code ids} is one the model is trained to produce (a response token in SFT).
     *
     * @param ids      [B, T] token ids
     * @param mask     [B, T] attention mask
     * @param lossMask [B, T−1] which next-token predictions count
     */
    public static NDArray nextTokenLoss(CausalLm model, NDArray ids, NDArray mask, NDArray lossMask) {
        NDArray logp = GptModel.logProbsOfNext(model.run(ids, mask).logits(), ids);
        return maskedMean(logp.neg(), lossMask);
    }

    /**
     * log(1 + e^x), computed as max(x, 0) + log(1 + e^−|x|) so large |x| neither overflows nor loses precision; on
     * the autograd path (constants from {@link Scalars}). The preference losses (Bradley–Terry, DPO) are softplus of
     * a margin: −log σ(d) = softplus(−d).
     */
    public static NDArray softplus(NDArray x) {
        return x.maximum(Scalars.of(x, 0)).add(x.abs().neg().exp().add(Scalars.of(x, 1)).log());
    }

    /** {@link #softplus(NDArray)} in double precision (evaluation and tests). */
    public static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }
}
