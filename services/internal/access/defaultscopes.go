package access

import "slices"

// defaultScopes narrows a credential issued without explicit scopes, per
// role. An automation account's everyday job is to submit complaints and
// deletion requests and follow their status; vouching for requesters'
// identities (deletion.attest) is a pipeline's special duty, so a credential
// carries it only when it is asked for by name. Other roles' credentials
// carry what the role holds (people act within their role anyway).
var defaultScopes = map[Role][]Permission{
	Automation: {CaseSubmit, CaseRead, DeletionSubmit, DeletionRead},
}

// DefaultScopes returns the scopes of a credential issued for role r without
// explicit scopes (nil: all the role holds).
func DefaultScopes(r Role) []Permission { return slices.Clone(defaultScopes[r]) }
