#!/usr/bin/python3
"""tools/make-audio-fixtures.py — regenerates the committed fixtures of tests/audio and tests/dsp.

Run from the repo root with Debian's /usr/bin/python3 (numpy, soundfile). librosa is not installed
here, so nothing below computes a spectrogram: every expected array is either copied from
../shared/reference (written by real librosa 0.11.0) or sliced from one (a prefix, to keep the
repository small), and the one array made here is numpy's own np.mean — the very call librosa.load
makes to downmix — on a 3-channel file written here with python-soundfile (libsndfile 1.2.0).

Writes tests/data/reference/:
  s1_sine440_22050.{wav, y, stft_mag, stft_db, mel, mel_db}.npy, the same for s2_chirp_44100  (copies)
  k1_wesnoth_battle.ogg, k2_naev_eureka.ogg                 (copies of the freely licensed corpus clips)
  k*.{mel, mel_db}.npy                                        (copies; first 5 s of the clip)
  k*.y_head.npy = NAME.y.npy[:44100]; k*.y_22050_head.npy = NAME.y_22050.npy[:22050]   (prefixes)
and tests/data/audio/:
  three_ch.wav (3 channels, float32, 44100 Hz, 4000 frames) and three_ch.y.npy =
  np.mean(soundfile.read(dtype='float32', always_2d=True)[0].T, axis=0), as librosa.to_mono does.
"""
import os
import shutil
import sys

import numpy as np
import soundfile as sf

SHARED = os.environ.get("GENREID_SHARED", "../shared")
REF = os.path.join(SHARED, "reference")
OUT_REF = "tests/data/reference"
OUT_AUDIO = "tests/data/audio"

CORPUS = {
    "k1_wesnoth_battle": "corpus/classical/wesnoth-1.16-music__battle__030s.ogg",
    "k2_naev_eureka": "corpus/electronic/naev-data__eureka__030s.ogg",
}


def main():
    if not os.path.isdir("tests") or not os.path.isdir(REF):
        sys.exit("run from the repo root with ../shared present (or GENREID_SHARED set)")
    os.makedirs(OUT_REF, exist_ok=True)
    os.makedirs(OUT_AUDIO, exist_ok=True)
    for name in ("s1_sine440_22050", "s2_chirp_44100"):
        for ext in (".wav", ".y.npy", ".stft_mag.npy", ".stft_db.npy", ".mel.npy", ".mel_db.npy"):
            shutil.copyfile(os.path.join(REF, name + ext), os.path.join(OUT_REF, name + ext))
    for name, rel in CORPUS.items():
        shutil.copyfile(os.path.join(SHARED, rel), os.path.join(OUT_REF, name + ".ogg"))
        for ext in (".mel.npy", ".mel_db.npy"):
            shutil.copyfile(os.path.join(REF, name + ext), os.path.join(OUT_REF, name + ext))
        y = np.load(os.path.join(REF, name + ".y.npy"))
        np.save(os.path.join(OUT_REF, name + ".y_head.npy"), np.ascontiguousarray(y[:44100]))
        y2 = np.load(os.path.join(REF, name + ".y_22050.npy"))
        np.save(os.path.join(OUT_REF, name + ".y_22050_head.npy"), np.ascontiguousarray(y2[:22050]))

    # 3 channels with values whose float32 sum needs rounding, so the order of the additions shows
    n = np.arange(4000)
    rng = np.random.default_rng(1234)
    x = np.stack([
        0.7 * np.sin(2 * np.pi * 440 * n / 44100),
        0.3 * rng.standard_normal(4000).clip(-3, 3) / 3,
        0.123456789 * np.cos(2 * np.pi * 1234.5 * n / 44100),
    ], axis=1).astype(np.float32)
    path = os.path.join(OUT_AUDIO, "three_ch.wav")
    sf.write(path, x, 44100, subtype="FLOAT")
    y, _ = sf.read(path, dtype="float32", always_2d=True)
    mono = np.mean(y.T, axis=0)  # librosa.to_mono
    assert mono.dtype == np.float32
    np.save(os.path.join(OUT_AUDIO, "three_ch.y.npy"), mono)


if __name__ == "__main__":
    main()
