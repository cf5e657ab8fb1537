package access

// Deletion-request permissions (SPEC §2.3).
const (
	DeletionSubmit  Permission = "deletion.submit"  // submit one or many requests, send and check codes
	DeletionRead    Permission = "deletion.read"    // requests, plans, evidence, certificates
	DeletionAttest  Permission = "deletion.attest"  // vouch for a requester's identity
	DeletionApprove Permission = "deletion.approve" // approve or reject a plan
	DeletionCancel  Permission = "deletion.cancel"
	DeletionTask    Permission = "deletion.task"   // complete manual connector tasks
	ConnectorAdmin  Permission = "connector.admin" // the connector registry
	// DeletionSuppressionCheck lets the operator's other systems ask whether
	// identifiers were erased (CheckSuppression) before they re-create data.
	DeletionSuppressionCheck Permission = "deletion.suppression_check"
)

// DeletionPermissions lists them (for role grants).
var DeletionPermissions = []Permission{DeletionSubmit, DeletionRead, DeletionAttest, DeletionApprove, DeletionCancel, DeletionTask, ConnectorAdmin, DeletionSuppressionCheck}

const deletionSvc = "/redress.deletion.v1.DeletionService/"

// The deletion RPCs join the one Table (kept in this file so the service's
// entries sit together).
func init() {
	for m, p := range map[string]Permission{
		"SubmitDeletion":      DeletionSubmit,
		"SubmitDeletionBatch": DeletionSubmit,
		"SendChallenge":       DeletionSubmit,
		"VerifyChallenge":     DeletionSubmit,
		"AttestIdentity":      DeletionAttest,
		"GetDeletion":         DeletionRead,
		"ListDeletions":       DeletionRead,
		"GetPlan":             DeletionRead,
		"GetEvidence":         DeletionRead,
		"ApprovePlan":         DeletionApprove,
		"RejectPlan":          DeletionApprove,
		"CancelDeletion":      DeletionCancel,
		"ExtendDeadline":      DeletionApprove,
		"CompleteManualTask":  DeletionTask,
		"ListConnectors":      ConnectorAdmin,
		"AddConnector":        ConnectorAdmin,
		"SetConnectorEnabled": ConnectorAdmin,
		"TestConnector":       ConnectorAdmin,
		"CheckSuppression":    DeletionSuppressionCheck,
	} {
		Table[deletionSvc+m] = p
	}
}
