package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/hearth-go/hearth/apitype"
)

// Containers (the code interpreter's sandboxes on the Responses API):
//
//	containers        container id                   → container JSON
//	container_files   container id \x00 file id       → container file JSON
//	container_expiry  expires at (uint64) container id → present
//
// A container's files are one sorted range (file ids sort by time), so a
// page is one Seek and deleting a container is a walk of its keys. The
// expiry index holds each active container once, at the second it expires
// if nothing uses it meanwhile: the expirer reads only the ones due.
var (
	bContainers      = []byte("containers")
	bContainerFiles  = []byte("container_files")
	bContainerExpiry = []byte("container_expiry")
)

func expiryKey(at int64, id string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(max(at, 0))), id...)
}

// PutContainer inserts or replaces a container and keeps its place in the
// expiry index (an expired container has none).
func (t *boltTx) PutContainer(c *apitype.Container) error {
	b := t.tx.Bucket(bContainers)
	ix := t.tx.Bucket(bContainerExpiry)
	if old := b.Get([]byte(c.ID)); old != nil {
		var o apitype.Container
		if err := json.Unmarshal(old, &o); err != nil {
			return fmt.Errorf("store: decode container %s: %w", c.ID, err)
		}
		if err := ix.Delete(expiryKey(o.ExpiresAt(), o.ID)); err != nil {
			return err
		}
	}
	if c.Status == apitype.ContainerActive {
		if err := ix.Put(expiryKey(c.ExpiresAt(), c.ID), present); err != nil {
			return err
		}
	}
	return putJSON(t.appending(b), []byte(c.ID), c)
}

// GetContainer reads a container.
func (t *boltTx) GetContainer(id string) (*apitype.Container, error) {
	v := t.tx.Bucket(bContainers).Get([]byte(id))
	if v == nil {
		return nil, apitype.ContainerNotFound(id)
	}
	var c apitype.Container
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("store: decode container %s: %w", id, err)
	}
	return &c, nil
}

// DeleteContainer deletes a container and its file records, returning
// those records (their bytes are the caller's to remove after the commit).
func (t *boltTx) DeleteContainer(id string) ([]apitype.ContainerFile, error) {
	c, err := t.GetContainer(id)
	if err != nil {
		return nil, err
	}
	files, err := t.ContainerFiles(id)
	if err != nil {
		return nil, err
	}
	if err := deletePrefix(t.tx.Bucket(bContainerFiles), pair(id, "")); err != nil {
		return nil, err
	}
	if err := t.tx.Bucket(bContainerExpiry).Delete(expiryKey(c.ExpiresAt(), id)); err != nil {
		return nil, err
	}
	return files, t.tx.Bucket(bContainers).Delete([]byte(id))
}

// ListContainers pages through containers, only those named name when it
// is set.
func (t *boltTx) ListContainers(p apitype.ListParams, name string) (apitype.Page[apitype.Container], error) {
	if name == "" {
		return listJSON[apitype.Container](t.tx.Bucket(bContainers), nil, p)
	}
	return listFiltered(t.tx.Bucket(bContainers), p, func(c *apitype.Container) bool { return c.Name == name })
}

// DueContainers calls fn with the id of each active container whose idle
// time ran out at or before now, soonest first, until fn returns false.
func (t *boltTx) DueContainers(now int64, fn func(id string) bool) error {
	c := t.tx.Bucket(bContainerExpiry).Cursor()
	for k, _ := c.First(); k != nil && len(k) > 8; k, _ = c.Next() {
		if int64(binary.BigEndian.Uint64(k[:8])) > now || !fn(string(k[8:])) {
			return nil
		}
	}
	return nil
}

// PutContainerFile inserts or replaces a file of an existing container.
func (t *boltTx) PutContainerFile(f *apitype.ContainerFile) error {
	if t.tx.Bucket(bContainers).Get([]byte(f.ContainerID)) == nil {
		return apitype.ContainerNotFound(f.ContainerID)
	}
	return putJSON(t.appending(t.tx.Bucket(bContainerFiles)), pair(f.ContainerID, f.ID), f)
}

// GetContainerFile reads a container file.
func (t *boltTx) GetContainerFile(containerID, id string) (*apitype.ContainerFile, error) {
	if t.tx.Bucket(bContainers).Get([]byte(containerID)) == nil {
		return nil, apitype.ContainerNotFound(containerID)
	}
	v := t.tx.Bucket(bContainerFiles).Get(pair(containerID, id))
	if v == nil {
		return nil, apitype.ContainerFileNotFound(containerID, id)
	}
	var f apitype.ContainerFile
	if err := json.Unmarshal(v, &f); err != nil {
		return nil, fmt.Errorf("store: decode container file %s: %w", id, err)
	}
	return &f, nil
}

// DeleteContainerFile deletes a container file's record.
func (t *boltTx) DeleteContainerFile(containerID, id string) error {
	if _, err := t.GetContainerFile(containerID, id); err != nil {
		return err
	}
	return t.tx.Bucket(bContainerFiles).Delete(pair(containerID, id))
}

// ListContainerFiles pages through a container's files.
func (t *boltTx) ListContainerFiles(containerID string, p apitype.ListParams) (apitype.Page[apitype.ContainerFile], error) {
	if t.tx.Bucket(bContainers).Get([]byte(containerID)) == nil {
		return apitype.Page[apitype.ContainerFile]{}, apitype.ContainerNotFound(containerID)
	}
	return listJSON[apitype.ContainerFile](t.tx.Bucket(bContainerFiles), pair(containerID, ""), p)
}

// ContainerFiles returns all of a container's files, oldest first.
func (t *boltTx) ContainerFiles(containerID string) ([]apitype.ContainerFile, error) {
	prefix := pair(containerID, "")
	var out []apitype.ContainerFile
	c := t.tx.Bucket(bContainerFiles).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var f apitype.ContainerFile
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, fmt.Errorf("store: decode container file %s: %w", k, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// HasContainerFile reports whether a container file record exists, for the
// sweep of bytes left by an interrupted write.
func (t *boltTx) HasContainerFile(containerID, id string) bool {
	return t.tx.Bucket(bContainerFiles).Get(pair(containerID, id)) != nil
}
