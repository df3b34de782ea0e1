package main

import (
	"context"
	"errors"
)

// runGen is not built yet; its issue is open.
func runGen(_ context.Context, _ []string, _ stdio) error {
	return errors.New("this command is not available in this build yet")
}
