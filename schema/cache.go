package schema

import (
	"encoding/json"
	"sync"
)

// Cache keeps compiled schemas by their raw bytes, since compiling costs
// ~100× a validation (see BenchmarkCompile). It holds at most Max schemas
// (default 1024) and starts over when full. The zero value is ready; a Cache
// is safe for concurrent use. Errors are not cached.
type Cache struct {
	Max int

	mu sync.Mutex
	m  map[string]*Schema
}

// Compile returns the compiled schema for raw, compiling it on first use.
func (c *Cache) Compile(raw json.RawMessage) (*Schema, error) {
	key := string(raw)
	c.mu.Lock()
	s, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := Compile(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	max := c.Max
	if max <= 0 {
		max = 1024
	}
	if c.m == nil || len(c.m) >= max {
		c.m = make(map[string]*Schema)
	}
	c.m[key] = s
	return s, nil
}
