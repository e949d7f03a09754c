//! EfficientNet-lite0 as a tract graph, built from the state dict.
//!
//! The architecture is small and fixed, so it is written out here instead of
//! being imported from an exchange format: a stem conv, 16 inverted-residual
//! blocks (1x1 expand, depthwise kxk, 1x1 project, no squeeze-excite), a 1x1
//! head, global average pooling and the classifier. BatchNorm (eps 1e-3) is
//! folded into each conv's weights and bias at load time, in f64, so the
//! graph has only convs, ReLU6 clamps, residual adds, one sum and a softmax.
//! Padding is TensorFlow's "SAME" (the weights come from TF checkpoints):
//! computed here for the fixed 224x224 input, extra pixel bottom/right.

use std::collections::HashMap;

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{DataFormat, Reduce, Reducer, Softmax, SoftmaxKind};

use super::torch::Tensor as Weights;

/// Side of the square input the graph is built for.
pub const INPUT_SIZE: usize = 224;
pub const CLASSES: usize = 1000;
const BN_EPS: f64 = 1e-3;

/// One stage of identical blocks: (repeats, kernel, stride, expand ratio,
/// input channels, output channels), from the lite0 block arguments.
struct Stage(usize, usize, usize, usize, usize, usize);

const STAGES: [Stage; 7] = [
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
];

/// TF "SAME" padding of one spatial axis: the output has ceil(n / stride)
/// pixels, and the padding that needs is split with the odd one at the end.
/// Returns (before, after, output size).
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize, usize) {
    let output = input.div_ceil(stride);
    let total = ((output - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2, output)
}

/// A conv (with folded BatchNorm) ready to wire: OIHW weights and a bias.
struct FoldedConv {
    weights: Tensor,
    bias: Tensor,
    kernel: usize,
    in_channels: usize,
    out_channels: usize,
}

/// Builds the graph and optimises it into a runnable plan.
pub fn build(state: &HashMap<String, Weights>) -> TractResult<Arc<TypedSimplePlan>> {
    Builder { state, model: TypedModel::default(), size: INPUT_SIZE }.build()
}

/// Wires the graph while tracking the current spatial size (for padding).
struct Builder<'a> {
    state: &'a HashMap<String, Weights>,
    model: TypedModel,
    size: usize,
}

impl Builder<'_> {
    fn build(mut self) -> TractResult<Arc<TypedSimplePlan>> {
        let input = self.model.add_source("input", f32::fact([1, 3, INPUT_SIZE, INPUT_SIZE]))?;
        let mut x = self.conv_bn_relu6("stem", input, "_conv_stem", "_bn0", 2, 1)?;
        let mut block = 0;
        for Stage(repeats, kernel, stride, expand, in_channels, out_channels) in STAGES {
            for repeat in 0..repeats {
                let (stride, in_channels) = if repeat == 0 { (stride, in_channels) } else { (1, out_channels) };
                let residual = stride == 1 && in_channels == out_channels;
                x = self.block(block, x, kernel, stride, expand, residual)?;
                block += 1;
            }
        }
        x = self.conv_bn_relu6("head", x, "_conv_head", "_bn1", 1, 1)?;
        let probabilities = self.classifier(x)?;
        self.model.select_output_outlets(&[probabilities])?;
        self.model.into_optimized()?.into_runnable()
    }

    /// One inverted-residual block; `expand` 1 means no expansion conv.
    fn block(
        &mut self,
        index: usize,
        input: OutletId,
        kernel: usize,
        stride: usize,
        expand: usize,
        residual: bool,
    ) -> TractResult<OutletId> {
        let p = format!("_blocks.{index}.");
        let mut x = input;
        if expand != 1 {
            x = self.conv_bn_relu6(&format!("{p}expand"), x, &format!("{p}_expand_conv"), &format!("{p}_bn0"), 1, 1)?;
        }
        let channels = self.model.outlet_fact(x)?.shape[1].to_usize()?;
        let depthwise = self.weight(&format!("{p}_depthwise_conv.weight"))?;
        ensure!(depthwise.shape == [channels, 1, kernel, kernel], "{p}_depthwise_conv has shape {:?}", depthwise.shape);
        x = self.conv_bn_relu6(
            &format!("{p}dw"),
            x,
            &format!("{p}_depthwise_conv"),
            &format!("{p}_bn1"),
            stride,
            channels,
        )?;
        x = self.conv_bn(&format!("{p}project"), x, &format!("{p}_project_conv"), &format!("{p}_bn2"), 1, 1)?;
        if residual {
            x = self.model.wire_node(format!("{p}add"), math::add(), &[x, input])?[0];
        }
        Ok(x)
    }

    fn conv_bn_relu6(
        &mut self,
        name: &str,
        x: OutletId,
        conv: &str,
        bn: &str,
        stride: usize,
        group: usize,
    ) -> TractResult<OutletId> {
        let x = self.conv_bn(name, x, conv, bn, stride, group)?;
        self.relu6(name, x)
    }

    /// A bias-free conv followed by BatchNorm, wired as one folded conv.
    fn conv_bn(
        &mut self,
        name: &str,
        x: OutletId,
        conv: &str,
        bn: &str,
        stride: usize,
        group: usize,
    ) -> TractResult<OutletId> {
        let folded = self.fold(conv, bn, group)?;
        self.wire_conv(name, x, folded, stride, group)
    }

    fn wire_conv(
        &mut self,
        name: &str,
        x: OutletId,
        conv: FoldedConv,
        stride: usize,
        group: usize,
    ) -> TractResult<OutletId> {
        let (before, after, output) = same_padding(self.size, conv.kernel, stride);
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec![conv.kernel, conv.kernel],
            padding: PaddingSpec::Explicit(tvec![before, before], tvec![after, after]),
            dilations: None,
            strides: Some(tvec![stride, stride]),
            input_channels: conv.in_channels,
            output_channels: conv.out_channels,
        };
        let op = Conv { pool_spec, kernel_fmt: KernelFormat::OIHW, group, q_params: None };
        let weights = self.model.add_const(format!("{name}.weights"), conv.weights)?;
        let bias = self.model.add_const(format!("{name}.bias"), conv.bias)?;
        self.size = output;
        Ok(self.model.wire_node(name, op, &[x, weights, bias])?[0])
    }

    /// min(max(x, 0), 6).
    fn relu6(&mut self, name: &str, x: OutletId) -> TractResult<OutletId> {
        let zero = self.model.add_const(format!("{name}.zero"), tensor0(0f32))?;
        let six = self.model.add_const(format!("{name}.six"), tensor0(6f32))?;
        let x = wire_with_rank_broadcast(format!("{name}.max0"), &mut self.model, math::max(), &[x, zero])?[0];
        Ok(wire_with_rank_broadcast(format!("{name}.min6"), &mut self.model, math::min(), &[x, six])?[0])
    }

    /// Global average pool, the fully connected layer and the softmax. The
    /// pool is a sum, its 1/(h*w) folded into the classifier weights, and
    /// the classifier is a 1x1 conv on the 1x1 pooled map.
    fn classifier(&mut self, x: OutletId) -> TractResult<OutletId> {
        let pooled = self.model.wire_node("pool", Reduce::new(tvec![2, 3], Reducer::Sum), &[x])?[0];
        let weight = self.weight("_fc.weight")?;
        let bias = self.weight("_fc.bias")?;
        let [out_channels, in_channels] = weight.shape[..] else { bail!("_fc.weight has shape {:?}", weight.shape) };
        ensure!(out_channels == CLASSES && bias.shape == [CLASSES], "unexpected classifier shape");
        let mean = 1.0 / (self.size * self.size) as f32;
        let weights: Vec<f32> = weight.data.iter().map(|w| w * mean).collect();
        let fc = FoldedConv {
            weights: tract_ndarray::Array4::from_shape_vec((out_channels, in_channels, 1, 1), weights)?.into(),
            bias: tensor1(&bias.data),
            kernel: 1,
            in_channels,
            out_channels,
        };
        self.size = 1;
        let logits = self.wire_conv("fc", pooled, fc, 1, 1)?;
        let softmax = Softmax { axes: tvec![1], quant_output_dt: None, kind: SoftmaxKind::Softmax };
        Ok(self.model.wire_node("softmax", softmax, &[logits])?[0])
    }

    /// Folds BatchNorm `bn` into the bias-free conv `conv`:
    /// w' = w * g / sqrt(v + eps), b' = beta - mean * g / sqrt(v + eps).
    fn fold(&self, conv: &str, bn: &str, group: usize) -> TractResult<FoldedConv> {
        let weight = self.weight(&format!("{conv}.weight"))?;
        let [out_channels, in_per_group, kernel, kernel_w] = weight.shape[..] else {
            bail!("{conv}.weight has shape {:?}", weight.shape)
        };
        ensure!(kernel == kernel_w, "{conv} is not square");
        let [gamma, beta, mean, var] =
            ["weight", "bias", "running_mean", "running_var"].map(|p| self.weight(&format!("{bn}.{p}")));
        let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
        for t in [gamma, beta, mean, var] {
            ensure!(t.shape == [out_channels], "{bn} does not match {conv} ({:?})", t.shape);
        }
        let scale: Vec<f64> =
            (0..out_channels).map(|o| f64::from(gamma.data[o]) / (f64::from(var.data[o]) + BN_EPS).sqrt()).collect();
        let per_output = in_per_group * kernel * kernel;
        let weights: Vec<f32> =
            weight.data.iter().enumerate().map(|(i, &w)| (f64::from(w) * scale[i / per_output]) as f32).collect();
        let bias: Vec<f32> =
            (0..out_channels).map(|o| (f64::from(beta.data[o]) - f64::from(mean.data[o]) * scale[o]) as f32).collect();
        let shape = (out_channels, in_per_group, kernel, kernel);
        Ok(FoldedConv {
            weights: tract_ndarray::Array4::from_shape_vec(shape, weights)?.into(),
            bias: tensor1(&bias),
            kernel,
            in_channels: in_per_group * group,
            out_channels,
        })
    }

    fn weight(&self, name: &str) -> TractResult<&Weights> {
        self.state.get(name).ok_or_else(|| format_err!("the weights have no tensor {name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::same_padding;

    #[test]
    fn same_padding_puts_the_odd_pixel_at_the_end() {
        // Stride 2, kernel 3 on 224: 112 outputs need 225 inputs: 0 before, 1 after.
        assert_eq!(same_padding(224, 3, 2), (0, 1, 112));
        // Kernel 5, stride 2 on 56: 28 outputs need 59: 1 before, 2 after.
        assert_eq!(same_padding(56, 5, 2), (1, 2, 28));
        // Stride 1 keeps the size, padding k/2 on each side.
        assert_eq!(same_padding(14, 5, 1), (2, 2, 14));
        assert_eq!(same_padding(7, 1, 1), (0, 0, 7));
        // Odd input, stride 2: 7 -> 4 outputs need 9 (kernel 3): 1 and 1.
        assert_eq!(same_padding(7, 3, 2), (1, 1, 4));
        // No padding when the kernel fits exactly.
        assert_eq!(same_padding(5, 1, 2), (0, 0, 3));
    }
}
