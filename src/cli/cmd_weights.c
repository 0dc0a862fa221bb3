/* cli/cmd_weights.c — `genreid weights import|download`: PyTorch weights → a genreid model file.
 *   import FILE -o MODEL: a .pth (torch.save) or .safetensors in torchvision ImageNet layout (body
 *     kept, fc dropped, new fastai head for --classes) or fastai learn.model layout (body + head);
 *   download ARCH -o MODEL --classes ...: torchvision's ImageNet weights from download.pytorch.org
 *     (or $GENREID_WEIGHTS_URL), SHA-256 prefix checked, then imported as above.
 * Library pieces: model/import.h, model/download.h, model/model_file.h. Tests: tests/model/test_cli_weights.c.
 * Leaves out: architectures other than resnet18/34, converting back to .pth. */
#include "cli/cli.h"
#include "core/error.h"
#include "model/download.h"
#include "model/import.h"
#include "model/model_file.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "Usage: genreid weights import FILE -o MODEL [options]\n"
            "       genreid weights download ARCH -o MODEL -c NAMES [options]\n\n"
            "Turns PyTorch ResNet weights into a genreid model file.\n"
            "  import    FILE is a torch.save .pth or a .safetensors state_dict, either torchvision's\n"
            "            ImageNet layout (conv1.weight, layer1.0..., fc.*: fc is dropped and a new fastai\n"
            "            head is made for the classes) or fastai's learn.model layout (0.0.weight ...\n"
            "            1.8.weight: body and head kept, class count from 1.8.weight).\n"
            "  download  fetches torchvision's ImageNet weights for ARCH (resnet18, resnet34) from\n"
            "            https://download.pytorch.org/models/ ($GENREID_WEIGHTS_URL overrides the base),\n"
            "            checks the SHA-256 prefix in the file name, then imports them.\n\n"
            "Options:\n"
            "  -o, --output MODEL    model file to write (required)\n"
            "  -a, --arch ARCH       resnet18 or resnet34 (default resnet18; download: the ARCH argument)\n"
            "  -c, --classes A,B,..  class names in logit order (required for torchvision weights;\n"
            "                        fastai weights default to 0,1,...)\n"
            "  -s, --seed N          seed of the new head's initialisation (default 42)\n"
            "  -f, --force           overwrite MODEL if it exists\n"
            "  -q, --quiet           no summary line on stdout\n"
            "  -h, --help            this help\n\n"
            "Example:\n"
            "  genreid weights import resnet18-f37072fd.pth -o genre.model -c classical,electronic\n");
}

/* splits "a,b,c" into a malloc'ed array of pointers into the (modified) string */
static int split_classes(char *s, char ***out) {
    int n = 1;
    for (char *p = s; *p; p++) n += *p == ',';
    char **v = calloc((size_t)n, sizeof *v);
    if (!v) return -1;
    int k = 0;
    for (char *tok = s, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        v[k++] = tok;
    }
    *out = v;
    return k;
}

static int run(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"arch", required_argument, 0, 'a'},
        {"classes", required_argument, 0, 'c'}, {"seed", required_argument, 0, 's'},
        {"force", no_argument, 0, 'f'},         {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *out = NULL, *arch = NULL;
    char *classes_arg = NULL;
    long seed = 42;
    int force = 0, quiet = 0, c;
    optind = 1;
    opterr = 0;
    /* GNU getopt permutes, so options may come before or after the subcommand and its argument */
    while ((c = getopt_long(argc, argv, "o:a:c:s:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a': arch = optarg; break;
        case 'c': classes_arg = optarg; break;
        case 's':
            if (cli_parse_int(optarg, &seed) || seed < 0) return cli_usage_error("weights", "bad --seed '%s'", optarg);
            break;
        case 'f': force = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("weights", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("weights", "missing subcommand (import or download)");
    const char *sub = argv[optind++];
    if (strcmp(sub, "import") && strcmp(sub, "download"))
        return cli_usage_error("weights", "unknown subcommand '%s' (import or download)", sub);
    const char *input = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) return cli_usage_error("weights", "one input only (got '%s' and '%s')", input, argv[optind]);
    if (!input) return cli_usage_error("weights", "%s needs %s", sub, strcmp(sub, "import") ? "ARCH" : "FILE");
    if (!out) return cli_usage_error("weights", "missing -o MODEL");
    int downloading = !strcmp(sub, "download");
    if (downloading) {
        if (arch && strcmp(arch, input)) return cli_usage_error("weights", "--arch %s contradicts ARCH %s", arch, input);
        arch = input;
        if (!download_weights_file(arch)) return cli_usage_error("weights", "no pretrained weights for '%s' (resnet18, resnet34)", arch);
        if (!classes_arg) return cli_usage_error("weights", "download needs --classes");
    }
    if (!arch) arch = "resnet18";
    if (strcmp(arch, "resnet18") && strcmp(arch, "resnet34"))
        return cli_usage_error("weights", "--arch must be resnet18 or resnet34, not '%s'", arch);
    char **names = NULL;
    int n_names = 0;
    if (classes_arg && (n_names = split_classes(classes_arg, &names)) < 0) {
        cli_error("out of memory");
        return 1;
    }
    char esc[256];
    err_escape(out, esc, sizeof esc);
    int rc = 1;
    char tmp[4096] = "";
    genreid_error err;
    err_clear(&err);
    if (!force && access(out, F_OK) == 0) {
        cli_error("%s: exists (use -f to overwrite)", esc);
        goto done;
    }
    const char *src = input;
    if (downloading) {
        char url[2048];
        if (download_weights_url(arch, url, sizeof url, &err)) {
            cli_error("%s", err.message);
            goto done;
        }
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.download.pth", out) >= sizeof tmp) {
            cli_error("%s: name too long", esc);
            tmp[0] = 0;
            goto done;
        }
        if (!quiet && isatty(2)) fprintf(stderr, "downloading %s\n", url);
        if (download_file(url, tmp, &err) ||
            download_check_hash(tmp, download_weights_file(arch), &err)) {
            cli_error("%s", err.message);
            goto done;
        }
        src = tmp;
    }
    model_meta meta;
    nn_model *m = NULL;
    import_layout layout;
    if (import_model(src, arch, (const char *const *)names, n_names, (uint64_t)seed, &meta, &m, &layout, &err)) {
        cli_error("%s", err.message);
        goto done;
    }
    nn_param *p;
    size_t n = nn_model_params(m, &p);
    if (model_save(out, &meta, p, n, &err)) {
        cli_error("%s", err.message);
    } else {
        rc = 0;
        if (!quiet)
            printf("%s: %s %s weights (%s), %d classes%s\n", esc, import_layout_name(layout), arch,
                   layout == IMPORT_TORCHVISION ? "body; new head" : "body and head", meta.n_classes,
                   layout == IMPORT_FASTAI && !names ? " named 0..C-1" : "");
    }
    nn_model_free(m);
    model_meta_free(&meta);
done:
    if (tmp[0]) remove(tmp);
    free(names);
    return rc;
}

const cli_command cli_cmd_weights = {"weights", "import PyTorch ResNet weights (.pth, .safetensors) or download them", run};
