/* model/pth.h — reads PyTorch checkpoints written by torch.save (the zip format of torch >= 1.6:
 * <prefix>/data.pkl, <prefix>/data/<key> storage blobs, <prefix>/version, maybe <prefix>/byteorder)
 * WITHOUT executing anything: model/zip.c for the archive and a small pickle machine that knows only
 * the opcodes and globals a state_dict uses:
 *   opcodes PROTO FRAME STOP MARK POP POP_MARK DUP EMPTY_DICT EMPTY_TUPLE EMPTY_LIST NONE NEWTRUE NEWFALSE
 *   BININT BININT1 BININT2 LONG1 BINFLOAT BINUNICODE SHORT_BINUNICODE BINUNICODE8 TUPLE TUPLE1-3
 *   BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET GLOBAL STACK_GLOBAL REDUCE BUILD SETITEM(S)
 *   APPEND(S) BINPERSID
 *   globals collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
 *   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage
 *   persistent ids ('storage', <storage type>, key, location, numel).
 * Anything else is refused with an error naming the opcode or the global ("pickle: refused global
 * 'os system'"). Tensors honour storage offset, size and stride (stride 0 and shared storages
 * included) and come out contiguous float32 (integers keep is_int). Sizes are checked against the
 * storage and MODEL_MAX_ELEMENTS before any allocation. The top object must be a dict of tensors, or a
 * dict holding one under "model" or "state_dict" (fastai Learner.save, common checkpoints).
 * Leaves out: the legacy pre-1.6 (non-zip) format (refused: GENREID_E_UNSUPPORTED), big-endian
 * archives, quantized/sparse tensors, TorchScript archives.
 * Tests: tests/model/test_pth.c against torch.save fixtures from tools/make-model-fixtures.py. */
#ifndef GENREID_MODEL_PTH_H
#define GENREID_MODEL_PTH_H

#include <stddef.h>
#include "core/error.h"
#include "model/tensors.h"

#define PTH_MAX_FILE ((size_t)4 << 30)
#define PTH_MAX_PICKLE ((size_t)64 << 20)

/* Parses an in-memory .pth (name for messages). out gets the tensors in pickle (state_dict) order. */
genreid_status pth_parse(const void *buf, size_t len, const char *name, model_tensors *out, genreid_error *err);
genreid_status pth_read(const char *path, model_tensors *out, genreid_error *err);

#endif
