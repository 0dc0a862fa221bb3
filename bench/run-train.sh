#!/usr/bin/env bash
# The notebook's training setting, one fine_tune(1) (a frozen and an unfrozen epoch of the 40 seed
# images, batch 32, 192x192, resnet18 + fastai head, random init: genreid is pinned to
# --arch resnet18 --weights none, not its default small pretrained network), genreid vs PyTorch, 2 threads.
# Called by bench/run with BUILD SHARED.
set -eu
build=$1; shared=$2
images="$shared/seed/images"
t0=$(date +%s.%N)
"$build/genreid" train -q -f --threads 2 --arch resnet18 --weights none --epochs 1 --freeze-epochs 1 -o "$build/bench/seed.gmod" "$images" > "$build/bench/train.log" 2>&1
t1=$(date +%s.%N)
py=$(BENCH_THREADS=2 /usr/bin/python3 bench/train_python.py "$images")
t2=$(date +%s.%N)
echo "genreid train (table):"; grep -E "^[0-9]|^epoch" "$build/bench/train.log" | sed 's/^/  /'
echo "python: $py"
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN { g = t1 - t0; p = t2 - t1;
  printf("whole command (load 40 PNGs, build model, 2 epochs, save): genreid %.2f s | pytorch %.2f s | ratio %.2fx (target < 1)\n", g, p, g / p) }'
# mixed precision, where the CPU runs bf16 natively: genreid --precision bf16 beside torch autocast
if "$build/genreid" --version | grep -q -E "bf16|amx"; then
  t3=$(date +%s.%N)
  "$build/genreid" train -q -f --threads 2 --arch resnet18 --weights none --epochs 1 --freeze-epochs 1 --precision bf16 -o "$build/bench/seed-bf16.gmod" "$images" > "$build/bench/train-bf16.log" 2>&1
  t4=$(date +%s.%N)
  py16=$(BENCH_THREADS=2 /usr/bin/python3 bench/train_python.py "$images" --bf16)
  t5=$(date +%s.%N)
  echo "genreid train --precision bf16 (table):"; grep -E "^[0-9]|^epoch" "$build/bench/train-bf16.log" | sed 's/^/  /'
  echo "python bf16 autocast: $py16"
  awk -v t3="$t3" -v t4="$t4" -v t5="$t5" 'BEGIN { g = t4 - t3; p = t5 - t4;
    printf("whole command, bf16: genreid --precision bf16 %.2f s | pytorch bf16 autocast %.2f s | ratio %.2fx\n", g, p, g / p) }'
else
  echo "whole command, bf16: left out (no native bf16 on this CPU)"
fi
