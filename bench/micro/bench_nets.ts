/**
 * The bench's training step: a CIFAR ResNet-(6n+2) (He et al.: 3×3 stem 16, stages 16/32/64,
 * BasicBlocks with BN + ReLU, 1×1 conv + BN shortcut on the downsampling blocks, global
 * average pool, linear), identical in shape to `bench/experiments/torch/torch_reference.py`'s. Batch norm is
 * written as `@efficienttrain/models` writes it (tf.moments, then scale and shift), so the
 * kernels the step exercises are those a real model run exercises. When the model registry
 * exists, `createStep` uses it instead (same names).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

interface Bn {
  gamma: tf.Variable;
  beta: tf.Variable;
}

/** How the bench nets normalise: as `@efficienttrain/models` does, or one fused op. */
export type NormImpl = (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor4D;

let fusedNorm: NormImpl | undefined;

/** Use `impl` (e.g. the native backend's fused batch norm) instead of the moments formula. */
export function useFusedNorm(impl: NormImpl | undefined): void {
  fusedNorm = impl;
}

function bn(x: tf.Tensor4D, p: Bn): tf.Tensor4D {
  if (fusedNorm) return fusedNorm(x, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D);
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(tf.sub(x, mean), scale), p.beta);
}

/** A trainable bench net: its variables and its forward pass. */
export interface BenchNet {
  readonly name: string;
  readonly variables: tf.Variable[];
  forward(x: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/** CIFAR ResNet of depth 6n+2 (8, 14, 20, ...), 10 classes, He-normal init. */
export function cifarResNet(depth: number, seed = 0): BenchNet {
  const n = (depth - 2) / 6;
  if (!Number.isInteger(n) || n < 1) throw new Error(`depth ${depth} is not 6n+2`);
  const vars: tf.Variable[] = [];
  let s = seed;
  const conv = (k: number, cin: number, cout: number): tf.Variable<tf.Rank.R4> => {
    const v = tf.variable<tf.Rank.R4>(
      tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin)), "float32", s++),
    );
    vars.push(v);
    return v;
  };
  const norm = (c: number): Bn => {
    const p = { gamma: tf.variable(tf.ones([c])), beta: tf.variable(tf.zeros([c])) };
    vars.push(p.gamma, p.beta);
    return p;
  };
  interface Block {
    c1: tf.Variable<tf.Rank.R4>;
    b1: Bn;
    c2: tf.Variable<tf.Rank.R4>;
    b2: Bn;
    stride: number;
    down?: { c: tf.Variable<tf.Rank.R4>; b: Bn };
  }
  const stem = conv(3, 3, 16);
  const stemBn = norm(16);
  const blocks: Block[] = [];
  let cin = 16;
  for (const [i, w] of [16, 32, 64].entries()) {
    for (let j = 0; j < n; j++) {
      const stride = i > 0 && j === 0 ? 2 : 1;
      const block: Block = {
        c1: conv(3, cin, w),
        b1: norm(w),
        c2: conv(3, w, w),
        b2: norm(w),
        stride,
      };
      if (stride !== 1 || cin !== w) block.down = { c: conv(1, cin, w), b: norm(w) };
      blocks.push(block);
      cin = w;
    }
  }
  const fcW = tf.variable(tf.randomNormal([64, 10], 0, 1 / 8, "float32", s++));
  const fcB = tf.variable(tf.zeros([10]));
  vars.push(fcW, fcB);
  return {
    name: `resnet${depth}_cifar`,
    variables: vars,
    forward(x: tf.Tensor4D): tf.Tensor2D {
      let h = tf.relu(bn(tf.conv2d(x, stem, 1, "same"), stemBn));
      for (const b of blocks) {
        const o = tf.relu(bn(tf.conv2d(h, b.c1, b.stride, "same"), b.b1));
        const o2 = bn(tf.conv2d(o, b.c2, 1, "same"), b.b2);
        const sc = b.down ? bn(tf.conv2d(h, b.down.c, b.stride, "same"), b.down.b) : h;
        h = tf.relu(tf.add(o2, sc));
      }
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, fcW), fcB);
    },
    dispose(): void {
      for (const v of vars) v.dispose();
    },
  };
}

/** One SGD training step (forward, backward through `tf.variableGrads`, update). */
export function trainStep(net: BenchNet, x: tf.Tensor4D, labels: tf.Tensor2D, lr = 0.01): void {
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const logits = net.forward(x);
      return tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as tf.Scalar;
    }, net.variables);
    for (const v of net.variables) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
  });
}

/** A random batch: NHWC images and one-hot labels. */
export function randomBatch(batch: number, size: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.randomNormal([batch, size, size, 3], 0, 1, "float32", 1) as tf.Tensor4D,
    y: tf.cast(
      tf.oneHot(tf.randomUniform([batch], 0, 10, "int32", 2), 10),
      "float32",
    ) as tf.Tensor2D,
  }));
}
