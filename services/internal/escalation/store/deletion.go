package store

import deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"

// Deletion is the deletion service's DeletionFactsService, called with the
// escalation service's credential: the escalation service checks deletion
// requests and has answers about them sealed through it, never from the
// deletion service's tables.
type Deletion = deletionv1.DeletionFactsServiceClient
