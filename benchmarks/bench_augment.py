"""Images per second that ImageDataGenerator augments: batches of 64 CIFAR-shaped images
with shifts, a horizontal flip and rotation, through ``flow`` (median of repeated epochs).

    python benchmarks/bench_augment.py
"""
import statistics
import time

import numpy as np

from tinycnn.preprocessing.image import ImageDataGenerator


def main(images=2048, batch=64, repeats=5) -> None:
    x = np.random.default_rng(0).random((images, 32, 32, 3), dtype=np.float32)
    settings = {
        "shift 0.1 + flip": dict(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True),
        "shift + flip + rotation 15": dict(width_shift_range=0.1, height_shift_range=0.1,
                                           horizontal_flip=True, rotation_range=15),
        "shift + flip + rotation + zoom 0.1": dict(width_shift_range=0.1, height_shift_range=0.1,
                                                   horizontal_flip=True, rotation_range=15, zoom_range=0.1),
    }
    print(f"| augmentation (batch {batch}, 32x32x3) | images/s |")
    print("| --- | ---: |")
    for name, kwargs in settings.items():
        flow = ImageDataGenerator(**kwargs).flow(x, batch_size=batch, seed=0)
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(len(flow)):
                next(flow)
            rates.append(images / (time.perf_counter() - start))
        print(f"| {name} | {statistics.median(rates):.0f} |")


if __name__ == "__main__":
    main()
