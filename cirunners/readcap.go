package cirunners

import (
	"fmt"
	"io"
	"os"
)

// MaxFileBytes caps the size of each CI doc and workflow file that Check
// and Query read; larger files are refused rather than read into memory.
const MaxFileBytes = 64 << 20

// readCapped reads the file at path, refusing it with an error wrapping
// ErrTooLarge when it holds more than limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%w: over the %d MiB limit, pass a smaller file", ErrTooLarge, limit>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: over the %d MiB limit, pass a smaller file", ErrTooLarge, limit>>20)
	}
	return data, nil
}
