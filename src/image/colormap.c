/* image/colormap.c — lookup of the generated colour tables by name (see colormap.h). */
#include "image/colormap.h"

#include <string.h>

static const struct {
    const char *name;
    const uint8_t (*lut)[3];
} colormaps[] = {
    {"jet", colormap_jet},
    {"viridis", colormap_viridis},
    {"magma", colormap_magma},
    {"gray", colormap_gray},
};

const uint8_t (*colormap_by_name(const char *name))[3] {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof colormaps / sizeof colormaps[0]; i++)
        if (strcmp(name, colormaps[i].name) == 0) return colormaps[i].lut;
    return NULL;
}

const char *colormap_names(void) { return "jet, viridis, magma, gray"; }
