package onnx

import (
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrNoRuntime is returned when ONNX Runtime's shared library cannot be found or loaded.
var ErrNoRuntime = errors.New("ONNX Runtime is not available")

var (
	initOnce sync.Once
	initErr  error
)

// Init loads ONNX Runtime from libraryPath (the configuration's HEARTH_ORT_LIBRARY, or where hearth serve
// looks for it) and creates its environment.
// ONNX Runtime allows one environment per process, so only the first call does anything; every later call
// returns the first call's result. Load calls Init itself.
func Init(libraryPath string) error {
	initOnce.Do(func() {
		if libraryPath == "" {
			initErr = fmt.Errorf("%w: no path to libonnxruntime.so was configured (HEARTH_ORT_LIBRARY)", ErrNoRuntime)
			return
		}
		if _, err := os.Stat(libraryPath); err != nil {
			initErr = fmt.Errorf("%w: %v", ErrNoRuntime, err)
			return
		}
		ort.SetSharedLibraryPath(libraryPath)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("%w: %v", ErrNoRuntime, err)
		}
	})
	return initErr
}
