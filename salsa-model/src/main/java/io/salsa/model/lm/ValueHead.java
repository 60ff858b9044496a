package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A linear map from a hidden state to one number, named like TRL's value head ({@code v_head.summary.*},
 * with bias) or Hugging Face's sequence-classification head ({@code score.weight}, without bias), so that
 * policies and reward models round-trip through those libraries.
 */
public final class ValueHead extends AbstractBlock {

    final Parameter weight;
    final Parameter bias;

    /** A zero head over {@code nEmbd}-wide hidden states; {@code biasName} null for none. */
    public ValueHead(NDManager manager, int nEmbd, String weightName, String biasName) {
        this(manager, nEmbd, weightName, biasName, DataType.FLOAT32);
    }

    /** A zero head whose weights are held in {@code weightType} (float16 for a frozen fp16 model). */
    public ValueHead(NDManager manager, int nEmbd, String weightName, String biasName, DataType weightType) {
        weight = addParameter(GptLayers.parameter(manager, weightName, Parameter.Type.WEIGHT, weightType, 1, nEmbd));
        bias = biasName == null ? null
                : addParameter(GptLayers.parameter(manager, biasName, Parameter.Type.BIAS, weightType, 1));
    }

    /** Head output for hidden states [..., E] → [...]; computed as a product-sum so nothing lands in the model's manager. */
    public NDArray apply(NDArray hidden) {
        NDArray out = hidden.mul(weight.getArray()).sum(new int[] {-1});
        return bias == null ? out : out.addi(bias.getArray());
    }

    /** Head output in {@code precision}: under FP16 the product-sum runs in float16 (like a Linear under autocast); the result is float32. */
    public NDArray apply(NDArray hidden, Precision precision) {
        if (precision == Precision.FP32) {
            return apply(hidden);
        }
        NDArray out = Autocast.toFloat32(Autocast.half(hidden)
                .mul(Autocast.half(weight.getArray(), hidden.getManager())).sum(new int[] {-1}));
        return bias == null ? out : out.addi(Autocast.toFloat32(bias.getArray(), out.getManager()));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(apply(inputs.singletonOrThrow()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {s.slice(0, s.dimension() - 1)};
    }
}
