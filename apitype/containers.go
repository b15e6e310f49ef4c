package apitype

import (
	"encoding/json"
	"fmt"
)

// The Containers API: the code interpreter's sandboxes on the Responses
// API, each a Python session and its /mnt/data files.

// Object names and statuses of containers and their files.
const (
	ObjectContainer        = "container"
	ObjectContainerFile    = "container.file"
	ObjectContainerDeleted = "container.deleted"
	ObjectContainerFileDel = "container.file.deleted"

	ContainerActive  = "active"
	ContainerExpired = "expired"

	// ContainerFileUser is a file uploaded or copied in; ContainerFileAssistant
	// one the code wrote.
	ContainerFileUser      = "user"
	ContainerFileAssistant = "assistant"

	// ContainerAnchorLastActive is the only expiry anchor.
	ContainerAnchorLastActive = "last_active_at"

	// DefaultContainerMinutes is how long a container lives idle, as the
	// hosted API's default.
	DefaultContainerMinutes = 20
	// MaxContainerMinutes bounds expires_after.minutes.
	MaxContainerMinutes = 7 * 24 * 60
)

// ContainerMemoryLimits are the memory_limit values the API accepts.
var ContainerMemoryLimits = []string{"1g", "4g", "16g", "64g"}

// Container is a code interpreter container.
type Container struct {
	ID           string                 `json:"id"`
	Object       string                 `json:"object"`
	CreatedAt    int64                  `json:"created_at"`
	Status       string                 `json:"status"`
	ExpiresAfter ContainerExpiresAfter  `json:"expires_after"`
	LastActiveAt int64                  `json:"last_active_at"`
	Name         string                 `json:"name"`
	MemoryLimit  string                 `json:"memory_limit"`
	Network      ContainerNetworkPolicy `json:"network_policy"`
}

// ExpiresAt is when the container expires if nothing uses it meanwhile.
func (c *Container) ExpiresAt() int64 {
	return c.LastActiveAt + int64(c.ExpiresAfter.Minutes)*60
}

// ContainerExpiresAfter is the idle time after which a container expires.
type ContainerExpiresAfter struct {
	Anchor  string `json:"anchor"`
	Minutes int    `json:"minutes"`
}

// ContainerNetworkPolicy is always disabled: the sandbox has no network.
type ContainerNetworkPolicy struct {
	Type string `json:"type"`
}

// ContainerFile is a file in a container's /mnt/data.
type ContainerFile struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	ContainerID string `json:"container_id"`
	CreatedAt   int64  `json:"created_at"`
	Bytes       int64  `json:"bytes"`
	Path        string `json:"path"`
	Source      string `json:"source"`
}

// ContainerCreateParams creates a container.
type ContainerCreateParams struct {
	Name         string                 `json:"name"`
	FileIDs      []string               `json:"file_ids,omitempty"`
	ExpiresAfter *ContainerExpiresAfter `json:"expires_after,omitempty"`
	MemoryLimit  string                 `json:"memory_limit,omitempty"`
}

// UnmarshalJSON decodes strictly: name is required, expires_after needs
// anchor last_active_at and minutes, memory_limit is one of the API's, and
// a network policy other than disabled or skills are refused (the sandbox
// has neither network nor skills).
func (p *ContainerCreateParams) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		o, err := readObject("", b)
		if err != nil {
			return err
		}
		var v ContainerCreateParams
		if err := firstErr(o.reqStr("name", &v.Name), o.strings("file_ids", &v.FileIDs),
			o.enum("memory_limit", &v.MemoryLimit, ContainerMemoryLimits...)); err != nil {
			return err
		}
		if raw, ok := o.raw("expires_after"); ok {
			eo, err := readObject("expires_after", raw)
			if err != nil {
				return err
			}
			var ea ContainerExpiresAfter
			var min *int
			if err := firstErr(required(eo, "anchor"), eo.enum("anchor", &ea.Anchor, ContainerAnchorLastActive), eo.int("minutes", &min)); err != nil {
				return err
			}
			if min == nil {
				return missingParam("expires_after.minutes")
			}
			ea.Minutes = *min
			if err := eo.done(); err != nil {
				return err
			}
			v.ExpiresAfter = &ea
		}
		if raw, ok := o.raw("network_policy"); ok {
			np, err := readObject("network_policy", raw)
			if err != nil {
				return err
			}
			var t string
			if err := firstErr(required(np, "type"), np.enum("type", &t, "disabled", "allowlist")); err != nil {
				return err
			}
			if t != "disabled" {
				return unsupported("network_policy", "the code interpreter's sandbox has no network")
			}
			if err := np.done(); err != nil {
				return err
			}
		}
		if raw, ok := o.raw("skills"); ok && string(raw) != "[]" {
			return unsupported("skills", "container skills are not supported")
		}
		if err := o.done(); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

// required reports a missing required field of an object.
func required(in *object, name string) error {
	if !in.has(name) {
		in.take(name)
		return missingParam(in.at(name))
	}
	return nil
}

// Validate checks what a Go caller may set outside the decoder.
func (p *ContainerCreateParams) Validate() error {
	if p.Name == "" {
		return missingParam("name")
	}
	if len(p.Name) > 256 {
		return invalidCode("name", CodeStringTooLong, "Invalid 'name': string too long. Expected a string with maximum length 256, but got a string with length %d instead.", len(p.Name))
	}
	if ea := p.ExpiresAfter; ea != nil {
		if ea.Anchor != ContainerAnchorLastActive {
			return badValue("expires_after.anchor", ea.Anchor, ContainerAnchorLastActive)
		}
		if ea.Minutes < 1 {
			return invalidCode("expires_after.minutes", CodeBelowMin, "Invalid 'expires_after.minutes': integer below minimum value. Expected a value greater than or equal to 1, but got %d instead.", ea.Minutes)
		}
		if ea.Minutes > MaxContainerMinutes {
			return invalidCode("expires_after.minutes", CodeAboveMax, "Invalid 'expires_after.minutes': integer above maximum value. Expected a value less than or equal to %d, but got %d instead.", MaxContainerMinutes, ea.Minutes)
		}
	}
	if p.MemoryLimit != "" {
		ok := false
		for _, m := range ContainerMemoryLimits {
			ok = ok || m == p.MemoryLimit
		}
		if !ok {
			return badValue("memory_limit", p.MemoryLimit, ContainerMemoryLimits...)
		}
	}
	for i, id := range p.FileIDs {
		if id == "" {
			return Invalid(index("file_ids", i), "Invalid 'file_ids[%d]': empty file id.", i)
		}
	}
	return nil
}

// ContainerListParams pages through containers, optionally by name.
type ContainerListParams struct {
	ListParams
	Name string `json:"name,omitempty"`
}

// ContainerFileCreateParams copies an uploaded file into a container
// (FileID); an upload goes through ContainerFiles.Upload instead.
type ContainerFileCreateParams struct {
	FileID string `json:"file_id"`
}

// UnmarshalJSON decodes strictly; file_id is required.
func (p *ContainerFileCreateParams) UnmarshalJSON(b []byte) error {
	return decodeStrict(b, func(b []byte) error {
		o, err := readObject("", b)
		if err != nil {
			return err
		}
		var v ContainerFileCreateParams
		if err := firstErr(o.reqStr("file_id", &v.FileID), o.done()); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

// ContainerDeleted is the answer to deleting a container.
func ContainerDeleted(id string) Deleted {
	return Deleted{ID: id, Object: ObjectContainerDeleted, Deleted: true}
}

// ContainerFileDeleted is the answer to deleting a container file.
func ContainerFileDeleted(id string) Deleted {
	return Deleted{ID: id, Object: ObjectContainerFileDel, Deleted: true}
}

// ContainerNotFound is the 404 for an unknown container.
func ContainerNotFound(id string) *Error {
	return &Error{Type: ErrorTypeNotFound, Status: 404, Message: fmt.Sprintf("Container with id '%s' not found.", id)}
}

// ContainerFileNotFound is the 404 for an unknown container file.
func ContainerFileNotFound(containerID, id string) *Error {
	return &Error{Type: ErrorTypeNotFound, Status: 404, Message: fmt.Sprintf("File with id '%s' not found in container '%s'.", id, containerID)}
}

// ContainerExpiredError is the 400 for using a container that expired.
func ContainerExpiredError(param, id string) *Error {
	return &Error{Type: ErrorTypeInvalidRequest, Status: 400, Param: param, Code: "container_expired",
		Message: fmt.Sprintf("Container '%s' has expired and can no longer be used; create a new one.", id)}
}

var _ json.Unmarshaler = (*ContainerCreateParams)(nil)
