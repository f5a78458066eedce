"""Loupe's C engine against the NumPy reference (spec §2.5): every weight type of the
tiny Gemma 4 model and Gemma 3, logits at every position of a prompt that crosses the
sliding window several times, with batch sizes that split it unevenly.
Usage: test_engine_vs_ref.py LOUPE_BINARY TMPDIR. Prints each measured figure; exits 1 on a miss."""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gemma_ref as ref  # noqa: E402

N_TOK = 56  # 3.5 windows of the tiny models (16)
F32_TOL = 1e-4      # spec §2.5: F32 weights, F32 cache, exact activations
HALF_TOL = 5e-3     # F16/BF16 weights or an F16 KV cache
QUANT_TOL = 0.1     # quantized weights with Q8 activations, against exact NumPy
QUANT_ARGMAX = 0.85
EMUL_TOL = 1e-5     # quantized, with the engine's activation rounding emulated: until a tie flips


def engine_logits(loupe, model, tokens, out, extra=()):
    cmd = [loupe, "logits", "-m", model, "--ids", ",".join(map(str, tokens)), "-o", out]
    subprocess.run(cmd + list(extra), check=True)
    return np.fromfile(out, dtype=np.float32).reshape(len(tokens), -1).astype(np.float64)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main():
    loupe, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)
    rng = np.random.RandomState(5)
    tokens = [2] + rng.randint(5, 512, size=N_TOK - 1).tolist()
    failures = []
    cases = [("gemma4-tiny", t) for t in
             ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k",
              "q4_k_m")]
    cases += [("gemma3-tiny", "f32"), ("gemma3-tiny", "q8_0")]
    for preset, typ in cases:
        path = os.path.join(tmp, "ref_%s_%s.gguf" % (preset, typ))
        subprocess.run([loupe, "gen-model", "--preset", preset, "--type", typ, "--seed", "3",
                        "-o", path], check=True)
        got = engine_logits(loupe, path, tokens, path + ".f32", ["--batch", "9", "-t", "2"])
        exact = ref.forward(ref.Model(path), tokens)[0]
        line = "%-12s %-5s vs exact: %.2e" % (preset, typ, rel(got, exact))
        if typ in ("f32", "q4_0"):
            # token by token must give the very same bits as the batch of 9
            one = engine_logits(loupe, path, tokens, path + ".one", ["--batch", "1", "-t", "1"])
            if not np.array_equal(one, got):
                failures.append("%s %s: token by token differs from batch 9" % (preset, typ))
                print("FAIL " + failures[-1])
            os.unlink(path + ".one")
        if typ == "f32":
            ok = rel(got, exact) <= F32_TOL
            f16 = engine_logits(loupe, path, tokens, path + ".c16", ["--cache-type", "f16"])
            line += "  f16 cache: %.2e" % rel(f16, exact)
            ok = ok and rel(f16, exact) <= HALF_TOL
        elif typ in ("f16", "bf16"):
            ok = rel(got, exact) <= HALF_TOL
        else:
            emul = ref.forward(ref.Model(path, act_quant=True), tokens)[0]
            per_pos = np.max(np.abs(got - emul), axis=1) / np.max(np.abs(emul))
            agree = float(np.mean(np.argmax(got, 1) == np.argmax(exact, 1)))
            line += "  argmax %.0f%%  emulated: first position %.1e, %d/%d positions <= %.0e" % (
                100 * agree, per_pos[0], int(np.sum(per_pos <= EMUL_TOL)), N_TOK, EMUL_TOL)
            ok = (rel(got, exact) <= QUANT_TOL and agree >= QUANT_ARGMAX
                  and per_pos[0] <= EMUL_TOL)
        print(("ok   " if ok else "FAIL ") + line)
        if not ok:
            failures.append(line)
        for p in (path, path + ".f32", path + ".c16"):
            if os.path.exists(p):
                os.unlink(p)
    print("%d passed, %d failed" % (max(len(cases) - len(failures), 0), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
