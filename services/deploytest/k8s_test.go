// Package deploytest validates the Kubernetes manifests in deploy/k8s
// offline: every document is decoded strictly into the official API types
// (unknown or duplicated fields, wrong types and unknown kinds fail), then
// checked for what Redress needs of them: probes, resources, pinned images,
// and references (Services, autoscalers, disruption budgets, config and
// secrets) that resolve to objects defined alongside.
package deploytest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

func decodeAll(t *testing.T) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	files, err := filepath.Glob("../../deploy/k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found in deploy/k8s (%v)", err)
	}
	var objs []runtime.Object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, _, err := dec.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s document %d: %v", filepath.Base(f), i+1, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

func TestManifests(t *testing.T) {
	objs := decodeAll(t)
	deployments := map[string]*appsv1.Deployment{}
	configMaps, secrets := map[string]bool{}, map[string]bool{}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			deployments[o.Name] = o
		case *corev1.ConfigMap:
			configMaps[o.Name] = true
		case *corev1.Secret:
			secrets[o.Name] = true
		}
	}
	for _, name := range processes {
		if deployments["redress-"+name] == nil {
			t.Errorf("no Deployment redress-%s", name)
		}
	}
	checkPod := func(what string, spec corev1.PodSpec, long bool) {
		for _, c := range spec.Containers {
			if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
				t.Errorf("%s/%s: image %q must be pinned to a version", what, c.Name, c.Image)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[r]; !ok {
					t.Errorf("%s/%s: no %s request", what, c.Name, r)
				}
				if _, ok := c.Resources.Limits[r]; !ok {
					t.Errorf("%s/%s: no %s limit", what, c.Name, r)
				}
			}
			if long && (c.LivenessProbe == nil || c.ReadinessProbe == nil) {
				t.Errorf("%s/%s: needs liveness and readiness probes", what, c.Name)
			}
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if p != nil && p.HTTPGet != nil && !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
					return cp.ContainerPort == p.HTTPGet.Port.IntVal || cp.Name == p.HTTPGet.Port.StrVal
				}) {
					t.Errorf("%s/%s: probe port %s is not a container port", what, c.Name, p.HTTPGet.Port.String())
				}
			}
			for _, e := range c.Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && !secrets[ref.SecretKeyRef.Name] {
					t.Errorf("%s/%s: Secret %s is not defined", what, c.Name, ref.SecretKeyRef.Name)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && !configMaps[ef.ConfigMapRef.Name] {
					t.Errorf("%s/%s: ConfigMap %s is not defined", what, c.Name, ef.ConfigMapRef.Name)
				}
				if ef.SecretRef != nil && !secrets[ef.SecretRef.Name] {
					t.Errorf("%s/%s: Secret %s is not defined", what, c.Name, ef.SecretRef.Name)
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.Secret != nil && !secrets[v.Secret.SecretName] {
				t.Errorf("%s: Secret %s (volume %s) is not defined", what, v.Secret.SecretName, v.Name)
			}
		}
	}
	selects := func(sel map[string]string) *appsv1.Deployment {
		for _, d := range deployments {
			if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
				return d
			}
		}
		return nil
	}
	autoscaled := map[string]bool{}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			checkPod("Deployment "+o.Name, o.Spec.Template.Spec, true)
			if sel := o.Spec.Selector; sel == nil || !labels.SelectorFromSet(sel.MatchLabels).Matches(labels.Set(o.Spec.Template.Labels)) {
				t.Errorf("Deployment %s: selector does not match its pods", o.Name)
			}
		case *batchv1.Job:
			checkPod("Job "+o.Name, o.Spec.Template.Spec, false)
		case *corev1.Service:
			d := selects(o.Spec.Selector)
			if d == nil {
				t.Errorf("Service %s selects no Deployment", o.Name)
				continue
			}
			for _, sp := range o.Spec.Ports {
				found := slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
					return cp.Name == sp.TargetPort.StrVal || cp.ContainerPort == sp.TargetPort.IntVal
				})
				if !found {
					t.Errorf("Service %s: target port %s is not a port of %s", o.Name, sp.TargetPort.String(), d.Name)
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if o.Spec.ScaleTargetRef.Kind != "Deployment" || deployments[o.Spec.ScaleTargetRef.Name] == nil {
				t.Errorf("HPA %s scales %s %s, which is not defined", o.Name, o.Spec.ScaleTargetRef.Kind, o.Spec.ScaleTargetRef.Name)
			}
			if o.Spec.MinReplicas == nil || *o.Spec.MinReplicas < 2 || o.Spec.MaxReplicas <= *o.Spec.MinReplicas {
				t.Errorf("HPA %s: want at least 2 replicas and room to grow", o.Name)
			}
			autoscaled[o.Spec.ScaleTargetRef.Name] = true
		case *policyv1.PodDisruptionBudget:
			if o.Spec.Selector == nil || selects(o.Spec.Selector.MatchLabels) == nil {
				t.Errorf("PodDisruptionBudget %s selects no Deployment", o.Name)
			}
		}
	}
	for name, d := range deployments {
		// A singleton (Recreate: never two pods at once) runs one replica
		// and must not be autoscaled; everything else is.
		singleton := d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType
		switch {
		case singleton && (d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || autoscaled[name]):
			t.Errorf("Deployment %s: Recreate is for a single replica without an autoscaler", name)
		case !singleton && !autoscaled[name]:
			t.Errorf("Deployment %s has no HorizontalPodAutoscaler", name)
		}
	}
}

// The audit checkpoint signer runs alone (Recreate, one replica: two
// signers must not run at once), is the only pod that mounts the signing
// key, read-only, and gets no master key: from redress-keys it takes
// single keys, never the whole Secret.
func TestCheckpointSigner(t *testing.T) {
	var signer *appsv1.Deployment
	for _, o := range decodeAll(t) {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		spec := d.Spec.Template.Spec
		mounts := slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
			return v.Secret != nil && v.Secret.SecretName == "redress-checkpoint-key"
		})
		if d.Name != "redress-checkpoints" {
			if mounts {
				t.Errorf("Deployment %s mounts the checkpoint signing key", d.Name)
			}
			continue
		}
		signer = d
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("redress-checkpoints: strategy %s, replicas %v; want Recreate and 1", d.Spec.Strategy.Type, d.Spec.Replicas)
		}
		if !mounts {
			t.Error("redress-checkpoints: the signing key Secret is not mounted")
		}
		c := spec.Containers[0]
		if !slices.Equal(c.Args, []string{"serve", "checkpoints"}) {
			t.Errorf("redress-checkpoints: args %v", c.Args)
		}
		for _, m := range c.VolumeMounts {
			secret := slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name && v.Secret != nil })
			if secret && !m.ReadOnly {
				t.Errorf("redress-checkpoints: volume %s is mounted writable", m.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				t.Errorf("redress-checkpoints: gets the whole Secret %s", ef.SecretRef.Name)
			}
		}
		keyFile := false
		for _, e := range c.Env {
			keyFile = keyFile || (e.Name == "REDRESS_CHECKPOINT_KEY_FILE" && e.Value != "")
			if e.Name == "REDRESS_MASTER_KEY" || e.Name == "REDRESS_COMMAND_KEY" {
				t.Errorf("redress-checkpoints: gets %s", e.Name)
			}
		}
		if !keyFile {
			t.Error("redress-checkpoints: REDRESS_CHECKPOINT_KEY_FILE is not set")
		}
	}
	if signer == nil {
		t.Fatal("no Deployment redress-checkpoints")
	}
}

// The validator must refuse what the API server would: a misspelt field.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = appsv1.AddToScheme(scheme)
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	_, _, err := dec.Decode([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("a misspelt field was accepted: %v", err)
	}
}

// Only the Redress processes that hold the command key reach the Temporal
// frontend's gRPC port; Temporal's own services keep their namespace; no
// rule admits everyone.
func TestTemporalFrontendNetworkPolicy(t *testing.T) {
	objs := decodeAll(t)
	var deployments []*appsv1.Deployment
	var policy *networkingv1.NetworkPolicy
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, o)
		case *networkingv1.NetworkPolicy:
			if o.Namespace == "temporal" {
				policy = o
			}
		}
	}
	if policy == nil {
		t.Fatal("no NetworkPolicy guards the Temporal frontend (namespace temporal)")
	}
	frontend := labels.Set{"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "frontend"}
	if sel, err := metav1.LabelSelectorAsSelector(&policy.Spec.PodSelector); err != nil || !sel.Matches(frontend) {
		t.Fatalf("NetworkPolicy %s does not select the frontend pods (%v)", policy.Name, err)
	}
	if !slices.Contains(policy.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Fatalf("NetworkPolicy %s does not restrict ingress", policy.Name)
	}
	holdsKey := func(d *appsv1.Deployment) bool {
		return slices.Contains(secretsOf(d.Spec.Template.Spec), "redress-command-key")
	}
	admitted := map[string]bool{}
	for i, rule := range policy.Spec.Ingress {
		if len(rule.From) == 0 {
			t.Errorf("ingress rule %d admits every source", i)
		}
		for _, peer := range rule.From {
			if peer.IPBlock != nil {
				t.Errorf("ingress rule %d admits an address block", i)
				continue
			}
			if peer.NamespaceSelector == nil {
				continue // Temporal's own namespace
			}
			ns, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			if err != nil || ns.Empty() {
				t.Errorf("ingress rule %d admits every namespace (%v)", i, err)
				continue
			}
			pods, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
			if peer.PodSelector == nil || err != nil || pods.Empty() {
				t.Errorf("ingress rule %d admits every pod of a namespace (%v)", i, err)
				continue
			}
			if len(rule.Ports) != 1 || rule.Ports[0].Port == nil || rule.Ports[0].Port.IntValue() != 7233 {
				t.Errorf("ingress rule %d: Redress needs the frontend's gRPC port 7233 only, got %v", i, rule.Ports)
			}
			for _, d := range deployments {
				if ns.Matches(labels.Set{"kubernetes.io/metadata.name": d.Namespace}) && pods.Matches(labels.Set(d.Spec.Template.Labels)) {
					admitted[d.Name] = true
				}
			}
		}
	}
	for _, d := range deployments {
		if holdsKey(d) != admitted[d.Name] {
			t.Errorf("Deployment %s: holds the command key %v, reaches the Temporal frontend %v; want the same",
				d.Name, holdsKey(d), admitted[d.Name])
		}
	}
	if len(admitted) == 0 || admitted["redress-console"] || admitted["redress-reporting"] {
		t.Errorf("admitted to the frontend: %v; want the services and workers, not the console nor reporting", admitted)
	}
}

// The internet-facing public pages hold no database credential, no master
// key and no command key: only their own credential for the services
// (Secret redress-public-token).
func TestPublicPodHoldsNoDatabaseOrKeys(t *testing.T) {
	found := false
	for _, o := range decodeAll(t) {
		d, ok := o.(*appsv1.Deployment)
		if !ok || d.Name != "redress-public" {
			continue
		}
		found = true
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					t.Errorf("redress-public: gets the whole Secret %s", ef.SecretRef.Name)
				}
			}
			token := false
			for _, e := range c.Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
					if e.Name != "REDRESS_PUBLIC_TOKEN" || ref.SecretKeyRef.Name != "redress-public-token" {
						t.Errorf("redress-public: %s from Secret %s", e.Name, ref.SecretKeyRef.Name)
					}
					token = true
				}
				switch e.Name {
				case "DATABASE_URL", "REDRESS_MASTER_KEY", "REDRESS_COMMAND_KEY", "REDRESS_MIGRATE_DATABASE_URL":
					t.Errorf("redress-public: gets %s", e.Name)
				}
			}
			if !token {
				t.Error("redress-public: REDRESS_PUBLIC_TOKEN is not set")
			}
		}
	}
	if !found {
		t.Fatal("no redress-public Deployment")
	}
}

// Only the migration Job holds the owner's database credentials; the
// services connect as the runtime role (Secret redress-keys), so none of
// them can switch off the audit trigger or rewrite the chain.
func TestOnlyMigrationsHoldTheOwnerCredentials(t *testing.T) {
	jobs := 0
	for _, o := range decodeAll(t) {
		switch o := o.(type) {
		case *appsv1.Deployment:
			if s := secretsOf(o.Spec.Template.Spec); slices.Contains(s, "redress-migrate-db") {
				t.Errorf("Deployment %s gets the owner's credentials (redress-migrate-db)", o.Name)
			}
		case *batchv1.Job:
			jobs++
			if s := secretsOf(o.Spec.Template.Spec); !slices.Equal(s, []string{"redress-migrate-db"}) {
				t.Errorf("Job %s gets Secrets %v, want only redress-migrate-db", o.Name, s)
			}
		case *corev1.Secret:
			for k, v := range o.StringData {
				if o.Name == "redress-keys" && strings.HasPrefix(k, "DATABASE_URL") && strings.Contains(v, "//redress_owner") {
					t.Errorf("Secret redress-keys: %s is the owner's", k)
				}
			}
		}
	}
	if jobs == 0 {
		t.Error("no migration Job")
	}
}

// processes are the `redress serve` processes, one Deployment each.
var processes = []string{"intake", "deletion", "escalation", "reporting", "worker", "console", "public", "checkpoints", "inbound"}

// secretsOf names the Secrets a pod's containers read, whole or key by key.
func secretsOf(spec corev1.PodSpec) []string {
	var names []string
	for _, c := range spec.Containers {
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				names = append(names, ef.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !slices.Contains(names, e.ValueFrom.SecretKeyRef.Name) {
				names = append(names, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	return names
}

// Each process runs as its own Deployment (`redress serve <name>`), and
// each has its own NetworkPolicy restricting both directions. The gRPC
// services are called only by whom they serve: the console calls all
// four, the public pages intake and reporting (published figures), the
// deletion service and the worker intake's ErasureService, the deletion,
// escalation and reporting services intake's IdentityService, the escalation
// service deletion's DeletionFactsService; nobody calls the
// worker or the checkpoint signer.
func TestOneDeploymentAndNetworkPolicyPerService(t *testing.T) {
	deployments := map[string]*appsv1.Deployment{}
	policies := map[string][]*networkingv1.NetworkPolicy{}
	objs := decodeAll(t)
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			deployments[d.Name] = d
		}
	}
	for _, o := range objs {
		p, ok := o.(*networkingv1.NetworkPolicy)
		if !ok || p.Namespace != "redress" {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		for name, d := range deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				policies[name] = append(policies[name], p)
			}
		}
	}
	if len(deployments) != len(processes) {
		t.Errorf("%d Deployments, want one per process (%v)", len(deployments), processes)
	}
	// calls reports whether pods of from may open port on pods of to.
	calls := func(from, to string, port int) bool {
		for _, p := range policies[to] {
			for _, rule := range p.Spec.Ingress {
				portOK := len(rule.Ports) == 0 || slices.ContainsFunc(rule.Ports, func(np networkingv1.NetworkPolicyPort) bool {
					return np.Port == nil || np.Port.IntValue() == port
				})
				for _, peer := range rule.From {
					if peer.NamespaceSelector != nil || peer.PodSelector == nil {
						continue
					}
					sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
					if err == nil && portOK && sel.Matches(labels.Set(deployments[from].Spec.Template.Labels)) {
						return true
					}
				}
			}
		}
		return false
	}
	for _, name := range processes {
		d := deployments["redress-"+name]
		if d == nil {
			t.Errorf("no Deployment redress-%s", name)
			continue
		}
		if c := d.Spec.Template.Spec.Containers; len(c) != 1 || !slices.Equal(c[0].Args, []string{"serve", name}) {
			t.Errorf("Deployment redress-%s does not run `redress serve %s` alone", name, name)
		}
		ps := policies[d.Name]
		if len(ps) != 1 {
			t.Errorf("Deployment %s: %d NetworkPolicies select it, want its own one", d.Name, len(ps))
			continue
		}
		if !slices.Contains(ps[0].Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(ps[0].Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			t.Errorf("NetworkPolicy %s: policy types %v, want Ingress and Egress", ps[0].Name, ps[0].Spec.PolicyTypes)
		}
		for _, rule := range ps[0].Spec.Ingress {
			if len(rule.From) == 0 {
				t.Errorf("NetworkPolicy %s admits every source", ps[0].Name)
			}
		}
	}
	for _, c := range []struct {
		from, to string
		want     bool
	}{
		{"console", "intake", true}, {"console", "deletion", true}, {"console", "escalation", true}, {"console", "reporting", true},
		{"public", "intake", true}, {"public", "deletion", false}, {"public", "escalation", false}, {"public", "reporting", true},
		{"worker", "intake", true}, {"deletion", "intake", true}, {"escalation", "intake", true}, {"reporting", "intake", true}, {"intake", "deletion", false}, {"worker", "deletion", false}, {"reporting", "escalation", false},
		{"escalation", "deletion", true},
		{"inbound", "intake", true}, {"inbound", "deletion", false}, {"inbound", "escalation", false}, {"inbound", "reporting", false},
	} {
		if got := calls("redress-"+c.from, "redress-"+c.to, 9090); got != c.want {
			t.Errorf("%s may call %s: %v, want %v", c.from, c.to, got, c.want)
		}
	}
	for _, to := range []string{"worker", "checkpoints", "console", "public", "inbound"} {
		for _, from := range processes {
			for _, port := range []int{8080, 8081, 8082, 9090, 9091} {
				if deployments["redress-"+from] != nil && calls("redress-"+from, "redress-"+to, port) {
					t.Errorf("%s may call %s on port %d", from, to, port)
				}
			}
		}
	}
}

// A read-only root filesystem leaves Go's os.TempDir unwritable: uploads
// over 1 MiB and XLSX exports spill there. Every such pod mounts a
// writable emptyDir on /tmp.
func TestWritableTmpWhereRootIsReadOnly(t *testing.T) {
	for _, o := range decodeAll(t) {
		var what string
		var spec corev1.PodSpec
		switch o := o.(type) {
		case *appsv1.Deployment:
			what, spec = "Deployment "+o.Name, o.Spec.Template.Spec
		case *batchv1.Job:
			what, spec = "Job "+o.Name, o.Spec.Template.Spec
		default:
			continue
		}
		for _, c := range spec.Containers {
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				continue
			}
			ok := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.MountPath == "/tmp" && !m.ReadOnly && slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
					return v.Name == m.Name && v.EmptyDir != nil
				})
			})
			if !ok {
				t.Errorf("%s/%s: read-only root filesystem without a writable emptyDir on /tmp", what, c.Name)
			}
		}
	}
}

// Secrets reach only the processes that use them, key by key: no
// Deployment takes a whole Secret, reporting and the checkpoint signer get
// no master key, only the services and workers the command key.
func TestSecretsOnlyWhereUsed(t *testing.T) {
	const (
		db, master, command = "redress-keys/DATABASE_URL", "redress-keys/REDRESS_MASTER_KEY", "redress-command-key/REDRESS_COMMAND_KEY"
		// The processes that connect as their own service's database role.
		intakeDB, deletionDB       = "redress-keys/DATABASE_URL_INTAKE", "redress-keys/DATABASE_URL_DELETION"
		escalationDB               = "redress-keys/DATABASE_URL_ESCALATION"
		reportingDB, checkpointsDB = "redress-keys/DATABASE_URL_REPORTING", "redress-keys/DATABASE_URL_CHECKPOINTS"
		smtpUser, smtpPass         = "redress-keys/REDRESS_SMTP_USER", "redress-keys/REDRESS_SMTP_PASSWORD"
		sms, oidc                  = "redress-keys/REDRESS_SMS_TOKEN", "redress-keys/REDRESS_OIDC_CLIENT_SECRET"
		checkpointKey              = "redress-checkpoint-key (volume)"
		deletionToken              = "redress-deletion-token/REDRESS_DELETION_SERVICE_TOKEN"
		escalationToken            = "redress-escalation-token/REDRESS_ESCALATION_SERVICE_TOKEN"
	)
	want := map[string][]string{
		"redress-intake":     {intakeDB, master, command, smtpUser, smtpPass},
		"redress-deletion":   {deletionDB, master, command, smtpUser, smtpPass, sms, deletionToken},
		"redress-escalation": {escalationDB, master, command, escalationToken},
		"redress-reporting":  {reportingDB},
		// The worker: each service's activities on its service's role, its
		// own probes on the shared role.
		"redress-worker": {db, intakeDB, deletionDB, reportingDB, escalationDB, master, command, smtpUser, smtpPass, sms, deletionToken, escalationToken},
		// The console and the public pages hold their own credentials
		// only (and the console the single sign-on client secret): no
		// database, no keys; accounts (and their mails) live with intake.
		"redress-console": {"redress-console-token/REDRESS_CONSOLE_TOKEN", oidc},
		"redress-public":  {"redress-public-token/REDRESS_PUBLIC_TOKEN"},
		// The inbound gateway: its credential, the mailbox, the webhook's secret.
		"redress-inbound": {"redress-inbound/REDRESS_INBOUND_SERVICE_TOKEN", "redress-inbound/REDRESS_IMAP_PASSWORD",
			"redress-inbound/REDRESS_SMS_WEBHOOK_SECRET"},
		"redress-checkpoints": {checkpointsDB, smtpUser, smtpPass, checkpointKey},
	}
	for _, o := range decodeAll(t) {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		var got []string
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					t.Errorf("Deployment %s/%s takes the whole Secret %s", d.Name, c.Name, ef.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
					got = append(got, r.SecretKeyRef.Name+"/"+r.SecretKeyRef.Key)
				}
			}
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Secret != nil {
				got = append(got, v.Secret.SecretName+" (volume)")
			}
		}
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want[d.Name]))
		if !slices.Equal(got, w) {
			t.Errorf("Deployment %s gets secrets %v, want %v", d.Name, got, w)
		}
	}
}

// The processes that mail alerts (intake, which raises them for the
// deletion and escalation services too, and the complaint worker) know the
// console's address, so the mails link to the case, not to a bare path.
func TestAlertMailsLinkToTheConsole(t *testing.T) {
	objs := decodeAll(t)
	config := map[string]map[string]string{}
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			config[cm.Name] = cm.Data
		}
	}
	seen := map[string]bool{}
	for _, o := range objs {
		d, ok := o.(*appsv1.Deployment)
		if !ok || (d.Name != "redress-intake" && d.Name != "redress-worker") {
			continue
		}
		seen[d.Name] = true
		for _, c := range d.Spec.Template.Spec.Containers {
			url := ""
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && config[ef.ConfigMapRef.Name]["REDRESS_CONSOLE_URL"] != "" {
					url = config[ef.ConfigMapRef.Name]["REDRESS_CONSOLE_URL"]
				}
			}
			for _, e := range c.Env {
				if e.Name == "REDRESS_CONSOLE_URL" {
					url = e.Value
				}
			}
			if !strings.HasPrefix(url, "https://") {
				t.Errorf("Deployment %s/%s: REDRESS_CONSOLE_URL %q, want the console's https address", d.Name, c.Name, url)
			}
		}
	}
	if !seen["redress-intake"] || !seen["redress-worker"] {
		t.Fatalf("deployments found: %v, want redress-intake and redress-worker", seen)
	}
}
