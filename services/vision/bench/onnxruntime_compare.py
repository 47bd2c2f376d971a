"""The peer in the vision benchmark: onnxruntime (one thread) running the same model on the same
photographs with the same pre- and post-processing as roomsense (decode, bilinear stretch with
half-pixel centres, NHWC float 0..255, threshold, greedy NMS). JSON lines like the Rust side's.

usage: python onnxruntime_compare.py MODEL IMAGES_DIR [RUNS]
"""
import io
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

IMAGES = ["astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg"]


def taps(src, dst):
    x = np.maximum((np.arange(dst) + 0.5) * (src / dst) - 0.5, 0.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), src - 1)
    x1 = np.minimum(x0 + 1, src - 1)
    return x0, x1, (x - x0).astype(np.float32)


def resize(rgb, w, h):
    x0, x1, wx = taps(rgb.shape[1], w)
    y0, y1, wy = taps(rgb.shape[0], h)
    img = rgb.astype(np.float32)
    top = img[y0][:, x0] + (img[y0][:, x1] - img[y0][:, x0]) * wx[None, :, None]
    bottom = img[y1][:, x0] + (img[y1][:, x1] - img[y1][:, x0]) * wx[None, :, None]
    return top + (bottom - top) * wy[:, None, None]


def nms(boxes, scores, threshold=0.5, iou=0.5):
    keep = scores >= threshold
    b = np.clip(boxes[keep][:, [1, 0, 3, 2]], 0.0, 1.0)  # -> xmin, ymin, xmax, ymax
    s = scores[keep]
    order = np.argsort(-s, kind="stable")
    kept = []
    for i in order:
        ok = True
        for k in kept:
            w = max(0.0, min(b[i, 2], b[k, 2]) - max(b[i, 0], b[k, 0]))
            h = max(0.0, min(b[i, 3], b[k, 3]) - max(b[i, 1], b[k, 1]))
            inter = w * h
            union = (b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1]) + (b[k, 2] - b[k, 0]) * (b[k, 3] - b[k, 1]) - inter
            if union > 0 and inter / union > iou:
                ok = False
                break
        if ok:
            kept.append(i)
    return [(float(s[i]), b[i].tolist()) for i in kept]


def main():
    model, images, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t = time.perf_counter()
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    print(json.dumps({"load_ms": round((time.perf_counter() - t) * 1000, 1), "onnxruntime": ort.__version__}))
    for name in IMAGES:
        path = f"{images}/{name}"
        data = open(path, "rb").read()
        rows = {"decode_ms": [], "resize_ms": [], "infer_ms": [], "nms_ms": [], "total_ms": []}
        top = 0.0
        for i in range(runs + 3):
            t0 = time.perf_counter()
            rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            t1 = time.perf_counter()
            x = resize(rgb, 300, 300)[None]
            t2 = time.perf_counter()
            boxes, scores = sess.run(["boxes", "scores"], {"image": x})
            t3 = time.perf_counter()
            people = nms(boxes[0], scores[0, :, 0])
            t4 = time.perf_counter()
            top = people[0][0] if people else 0.0
            if i >= 3:
                for k, v in zip(rows, [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0]):
                    rows[k].append(v * 1000)
        out = {"image": name}
        out.update({k: round(float(np.median(v)), 3) for k, v in rows.items()})
        out["person_score"] = round(top, 3)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
