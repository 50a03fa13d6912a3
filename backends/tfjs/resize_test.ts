import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { RESIZE_METHODS, resizeReference, Rng } from "@efficienttrain/core";
import { resize } from "./mod.ts";

await tf.setBackend("cpu");
// silence the cpu backend's "install tfjs-node" banner
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false;

Deno.test("tfjs resize matches the float64 reference for every method, up and down", () => {
  const rng = new Rng(4);
  const shape = [2, 12, 10, 3];
  const data = Float32Array.from({ length: 720 }, () => rng.next());
  const nchw = tf.tidy(() =>
    tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 3, 1, 2])
  );
  const x = tf.tensor4d(data, shape as [number, number, number, number]);
  for (const method of RESIZE_METHODS) {
    for (const antialias of [false, true]) {
      for (const size of [[8, 6], [15, 13]] as [number, number][]) {
        const want = resizeReference(data, shape, { size, method, antialias });
        const y = resize(x, { size, method, antialias });
        const yc = resize(nchw as tf.Tensor4D, { size, method, antialias, layout: "NCHW" });
        const back = tf.transpose(yc, [0, 2, 3, 1]);
        const got = y.dataSync(), got2 = back.dataSync();
        let err = 0;
        for (let i = 0; i < want.length; i++) {
          err = Math.max(err, Math.abs(got[i]! - want[i]!), Math.abs(got2[i]! - want[i]!));
        }
        assert.ok(err < 1e-5, `${method} aa=${antialias} ${size}: ${err}`);
        tf.dispose([y, yc, back]);
      }
    }
  }
  tf.dispose([x, nchw]);
});
