#!/usr/bin/python3
"""Reference output of the batch-norm worksheet's NumPy cells, and of NumPy's
legacy RandomState primitives, for tests/test_worksheet.c and tests/test_text.c.

Writes tests/fixtures/numpy_worksheet.txt:
  "@seed N" then the lines the notebook's cells print for np.random.seed(N)
  (the data cell, case 1, case 2, case 3a: the notebook's code verbatim, less
  matplotlib and TensorFlow), then "@end";
  "@draws N" then the first draws of a fresh np.random.seed(N) in this order,
  one per line as the float's repr or the integer: 5 random_sample(),
  7 randn() (odd, so the cached second normal is used and left over),
  10 randint(5), 10 randint(60), 3 randint(2**32), 1 randint(1), 1
  random_sample(); then "@end";
and tests/fixtures/python_repr.txt: "hexbits repr" per line, for doubles at
every decade and random bit patterns (Python's repr is NumPy's str).

Run with the Python that has numpy (Debian's): /usr/bin/python3 tests/gen_fixtures_worksheet.py
"""
import io
import os
import random
import struct
from contextlib import redirect_stdout

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
SEEDS = [0, 1, 42, 678, 2**31, 2**32 - 1]


def notebook(seed):
    """The worksheet's cells that print, as written in the notebook."""
    np.random.seed(seed)
    global test_data
    test_data = np.zeros((30, 32, 32, 1))
    for i in range(30):
        new_random_image = np.random.randn(32, 32) * np.random.randint(5) + np.random.randint(60)
        new_random_image = np.expand_dims(new_random_image, axis=2)
        test_data[i, :, :, :] = new_random_image

    print('\n===================================')
    print("Data Shape: ", test_data.shape, " (# of Images, Image Width, Image Height, Channels)")
    print("Data Max: ", test_data.max())
    print("Data Min: ", test_data.min())
    print("Data Mean: ", test_data.mean())
    print("Data Variance: ", test_data.var())
    print('===================================')

    normdata = (test_data - test_data.min(axis=0)) / \
        (test_data.max(axis=0) - test_data.min(axis=0))
    print('============== Normalized Data ==============')
    print("Data Shape: ", normdata.shape)
    print("Data Max: ", normdata.max())
    print("Data Min: ", normdata.min())
    print("Data Mean: ", normdata.mean())
    print("Data Variance: ", normdata.var())
    print('=============================================')

    standdata = (test_data - test_data.mean(axis=0)) / test_data.std(axis=0)
    print('============== Standardized Data  ==============')
    print("Data Shape: ", standdata.shape)
    print("Data Max: ", standdata.max())
    print("Data Min: ", standdata.min())
    print("Data Mean: ", standdata.mean())
    print("Data Variance: ", standdata.var())
    print('================================================')

    first10_data = test_data[:10, :, :, :]
    mini_batch_mean = first10_data.sum(axis=0) / len(first10_data)
    mini_batch_var = ((first10_data - mini_batch_mean) ** 2).sum(axis=0) / len(first10_data)
    batchnorm_data = (first10_data - mini_batch_mean) / ((mini_batch_var + 1e-8) ** 0.5)
    print('============== Case 3 Implementation ===================')
    print("Data Shape: ", batchnorm_data.shape)
    print("Data Max: ", batchnorm_data.max())
    print("Data Min: ", batchnorm_data.min())
    print("Data Mean: ", batchnorm_data.mean())
    print("Data Variance: ", batchnorm_data.var())


def draws(seed):
    rs = np.random.RandomState(seed)
    out = [repr(rs.random_sample()) for _ in range(5)]
    out += [repr(rs.randn()) for _ in range(7)]
    out += [str(rs.randint(5)) for _ in range(10)]
    out += [str(rs.randint(60)) for _ in range(10)]
    out += [str(rs.randint(2**32)) for _ in range(3)]
    out += [str(rs.randint(1)), repr(rs.random_sample())]
    return out


def main():
    with open(os.path.join(OUT, "numpy_worksheet.txt"), "w") as f:
        for seed in SEEDS:
            buf = io.StringIO()
            with redirect_stdout(buf):
                notebook(seed)
            f.write("@seed %d\n%s@end\n" % (seed, buf.getvalue()))
        for seed in SEEDS:
            f.write("@draws %d\n%s\n@end\n" % (seed, "\n".join(draws(seed))))

    rnd = random.Random(20261202)
    values = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 100.0, 1e16, 9999999999999998.0,
              1e-4, 9.999999999999999e-05, 1e-5, 5e-324, 1.7976931348623157e308,
              2.2250738585072014e-308, 123456789012345678.0, 0.30000000000000004,
              float("inf"), float("-inf")]
    values += [10.0 ** e for e in range(-20, 21)]
    values += [rnd.uniform(-1, 1) * 10.0 ** rnd.randint(-8, 18) for _ in range(2000)]
    values += [struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0] for _ in range(2000)]
    values += [float(rnd.randint(-10**6, 10**6)) for _ in range(200)]
    with open(os.path.join(OUT, "python_repr.txt"), "w") as f:
        for v in values:
            if v != v:
                continue
            bits = struct.unpack("<Q", struct.pack("<d", v))[0]
            f.write("%016x %s\n" % (bits, repr(v)))


if __name__ == "__main__":
    main()
