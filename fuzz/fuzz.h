/*
 * fuzz.h — what the fuzz targets share.  Each target (fuzz_<name>.c)
 * defines LLVMFuzzerTestOneInput; built with clang and
 * -fsanitize=fuzzer (make fuzz) it is a libFuzzer binary, built with
 * anything else it is linked with replay.c, whose main() runs each file of
 * a corpus through it once (the CTest replays).
 *
 * Capture-shaped inputs (fuzz_capture, fuzz_cli) are not the file itself:
 * random mutation never gets a CRC right, so the first byte chooses how
 * the rest becomes a capture (frame.c):
 *   bit 0 clear  the rest is the file, as is (header and CRCs included);
 *   bit 0 set    the rest is records: a valid file header, then one chunk
 *                per piece between "CHNK" separators, each with correct
 *                lengths and CRCs (an empty piece is a zero-length chunk);
 *   bit 1        the chunks are zstd-compressed (codec 1) instead of stored;
 *   bits 2-4     cut that many times 7 bytes off the end (truncation);
 *   bits 5-7     left for the target (fuzz_cli: its options).
 */
#ifndef RCGC_FUZZ_H
#define RCGC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write the capture file an input stands for (see above) to this
   process's scratch file (made on first use, removed at exit) and return
   its path; NULL for an empty input or when out of memory.  The program
   stops if the file cannot be written. */
const char *fuzz_capture_file(const uint8_t *data, size_t size);

#endif
