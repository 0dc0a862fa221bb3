/* examples/lib/classify.c — the smallest program using libgenreid: classify each file named on
 * the command line with the built-in default model and print the genre and its probability.
 *   cc classify.c $(pkg-config --cflags --libs genreid) -o classify && ./classify song.mp3 */
#include <genreid.h>
#include <stdio.h>

int main(int argc, char **argv) {
    genreid_error err;
    genreid_model *model = genreid_model_load(NULL, &err); /* NULL: the default model */
    if (!model) {
        fprintf(stderr, "classify: %s\n", err.message);
        return 1;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        genreid_prediction p;
        if (genreid_predict_file(model, argv[i], NULL, &p, &err) != GENREID_OK) {
            fprintf(stderr, "classify: %s\n", err.message);
            failed = 1;
            continue;
        }
        printf("%s\t%s\t%.3f\n", argv[i], genreid_model_class_name(model, p.label), p.probabilities[p.label]);
        genreid_prediction_free(&p);
    }
    genreid_model_free(model);
    return failed;
}
