// Command peer is the benchmark's native Go peer: the same rendering as function-xenvironment,
// written in Go on grpc-go, so that both can be measured under the same load; a stricter bar than
// function-go-templating, the benchmark's other peer. It reads the same Catalog input and renders
// the same desired state for valid requests; it does not validate input as the product does, and
// returns no conditions.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "xenvironment.local/bench/peer/fnv1"
)

type obj = map[string]any

type server struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
}

// derivedName is the function's names.ts: the non-empty parts joined by '-', other characters
// replaced, cut to fit, and always 10 base32 characters of the SHA-256 of the parts as JSON.
func derivedName(parts ...string) string {
	var encoded bytes.Buffer
	enc := json.NewEncoder(&encoded)
	enc.SetEscapeHTML(false) // as JSON.stringify
	if err := enc.Encode(parts); err != nil {
		panic(err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(encoded.Bytes(), []byte("\n")))
	suffix := strings.ToLower(base32.StdEncoding.EncodeToString(sum[:7]))[:10]
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	head := notName.ReplaceAllString(strings.Join(kept, "-"), "-")
	if len(head) > 63-10-1 {
		head = head[:63-10-1]
	}
	head = strings.Trim(head, "-")
	if head == "" {
		return suffix
	}
	return head + "-" + suffix
}

var notName = regexp.MustCompile(`[^a-z0-9-]`)

func merge(layers ...obj) obj {
	out := obj{}
	for _, layer := range layers {
		for k, v := range layer {
			if cur, ok := out[k].(obj); ok {
				if next, ok := v.(obj); ok {
					out[k] = merge(cur, next)
					continue
				}
			}
			out[k] = v
		}
	}
	return out
}

func asObj(v any) obj {
	if o, ok := v.(obj); ok {
		return o
	}
	return obj{}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

type health int

const (
	absent health = iota
	progressing
	ready
	failed
)

func condition(res obj, t string) obj {
	for _, c := range asList(asObj(res["status"])["conditions"]) {
		if co := asObj(c); co["type"] == t {
			return co
		}
	}
	return nil
}

// healthOf is common/health.ts without its two refinements the benchmark's requests never reach (a
// stale Ready condition, a connection secret not written yet).
func healthOf(r *fnv1.Resource) (health, string) {
	if r == nil {
		return absent, ""
	}
	res := r.GetResource().AsMap()
	rd := condition(res, "Ready")
	if rd != nil && rd["status"] == "True" {
		return ready, ""
	}
	if sy := condition(res, "Synced"); sy != nil && sy["status"] == "False" {
		for _, m := range []string{str(sy["message"]), str(sy["reason"])} {
			if m != "" {
				return failed, m
			}
		}
		return failed, "reconcile failed"
	}
	if rd != nil && rd["status"] == "False" {
		switch reason := str(rd["reason"]); reason {
		case "", "Creating", "Deleting", "Unavailable":
		default:
			if m := str(rd["message"]); m != "" {
				return failed, m
			}
			return failed, reason
		}
	}
	return progressing, str(asObj(rd)["message"])
}

// releaseHealth: a Release Helm failed is failed, whatever its Ready condition says.
func releaseHealth(r *fnv1.Resource) (health, string) {
	h, msg := healthOf(r)
	if h != progressing {
		return h, msg
	}
	at := asObj(asObj(r.GetResource().AsMap()["status"])["atProvider"])
	if at["state"] != "failed" {
		return h, msg
	}
	if d := str(at["releaseDescription"]); d != "" {
		return failed, "Helm release failed: " + d
	}
	return failed, "Helm release failed"
}

func release(name, releaseName string, chart obj, namespace string, values obj, pc string) obj {
	return obj{
		"apiVersion": "helm.crossplane.io/v1beta1",
		"kind":       "Release",
		"metadata":   obj{"name": name, "annotations": obj{"crossplane.io/external-name": releaseName}},
		"spec": obj{
			"forProvider":       obj{"chart": chart, "namespace": namespace, "values": values},
			"providerConfigRef": obj{"name": pc},
		},
	}
}

func object(name string, manifest obj, pc string) obj {
	return obj{
		"apiVersion": "kubernetes.crossplane.io/v1alpha2",
		"kind":       "Object",
		"metadata":   obj{"name": name},
		"spec":       obj{"forProvider": obj{"manifest": manifest}, "providerConfigRef": obj{"name": pc}},
	}
}

func ref(r obj) obj {
	return obj{"apiVersion": r["apiVersion"], "kind": r["kind"], "resourceRef": obj{"name": asObj(r["metadata"])["name"]}}
}

func usage(name string, of, by obj) obj {
	return obj{"apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "Usage", "metadata": obj{"name": name},
		"spec": obj{"of": of, "by": by, "replayDeletion": true}}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// toolState is a tool's phase from its Release and, once that is Ready, its readiness checks. The
// peer reads no workloads: a check it has not observed is starting, one observed counts as served.
type toolState struct {
	health  health
	msg     string
	checks  []obj
	waiting []string
}

func (t toolState) ready() bool { return t.health == ready && len(t.waiting) == 0 }

func (server) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	input := req.GetInput().AsMap()
	xr := req.GetObserved().GetComposite().GetResource().AsMap()
	observed := req.GetObserved().GetResources()
	has := func(key string) bool { return observed[key] != nil }
	name := str(asObj(xr["metadata"])["name"])
	spec := asObj(xr["spec"])
	clusterSpec := asObj(spec["cluster"])
	catalogCluster := asObj(input["cluster"])
	vc := asObj(catalogCluster["vcluster"])
	secretNS := orDefault(str(catalogCluster["connectionSecretNamespace"]), "crossplane-system")
	waitTimeout := orDefault(str(asObj(input["toolDefaults"])["waitTimeout"]), "5m")
	tools := map[string]obj{}
	for _, t := range asList(input["tools"]) {
		tools[str(asObj(t)["name"])] = asObj(t)
	}
	named := func(role string, parts ...string) string {
		return derivedName(append([]string{role, "", name}, parts...)...)
	}

	desired := map[string]*fnv1.Resource{}
	put := func(key string, o obj, isReady bool) {
		s, err := structpb.NewStruct(o)
		if err != nil {
			panic(err)
		}
		r := fnv1.Ready_READY_FALSE
		if isReady {
			r = fnv1.Ready_READY_TRUE
		}
		desired[key] = &fnv1.Resource{Resource: s, Ready: r}
	}

	hostNS := named("vcluster")
	service := "vcluster." + hostNS + ".svc"
	endpoint := "https://" + service + ":443"
	version := orDefault(str(clusterSpec["kubernetesVersion"]), str(vc["defaultKubernetesVersion"]))
	pcName := named("providerconfig")
	secret := obj{"name": named("kubeconfig"), "namespace": secretNS, "key": "kubeconfig"}
	cluster := release(named("cluster"), "vcluster", asObj(vc["chart"]), hostNS,
		merge(asObj(vc["values"]), asObj(asObj(vc["kubernetesVersions"])[version]), asObj(clusterSpec["values"]),
			obj{"exportKubeConfig": obj{"server": endpoint}, "controlPlane": obj{"proxy": obj{"extraSANs": []any{service}}}}),
		orDefault(str(vc["hostProviderConfigName"]), "default"))
	cs := asObj(cluster["spec"])
	asObj(cs["forProvider"])["skipCreateNamespace"] = true
	cs["connectionDetails"] = []any{obj{"apiVersion": "v1", "kind": "Secret", "name": "vc-vcluster", "namespace": hostNS,
		"fieldPath": "data.config", "toConnectionSecretKey": "kubeconfig", "skipPartOfReleaseCheck": true}}
	cs["writeConnectionSecretToRef"] = obj{"name": secret["name"], "namespace": secretNS}

	// The host namespace first, then the cluster with a Usage that keeps the namespace until it goes.
	namespace := object(hostNS, obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": hostNS}},
		orDefault(str(vc["hostKubernetesProviderConfigName"]), "default"))
	nsHealth, nsMsg := healthOf(observed["host-namespace"])
	put("host-namespace", namespace, nsHealth == ready)
	clusterHealth, clusterMsg := healthOf(observed["cluster"])
	clusterComposed := has("cluster") || has("host-namespace-usage") || nsHealth == ready
	if clusterComposed {
		put("cluster", cluster, clusterHealth == ready)
		put("host-namespace-usage", usage(named("host-namespace-usage"), ref(namespace), ref(cluster)), has("host-namespace-usage"))
	}
	if clusterHealth == absent {
		switch nsHealth {
		case ready:
			clusterHealth = progressing
		case progressing:
			clusterHealth, clusterMsg = progressing, "waiting for the host namespace "+hostNS
		case failed:
			clusterHealth, clusterMsg = failed, "the host namespace "+hostNS+": "+nsMsg
		}
	}

	for key, api := range map[string]string{"helm-providerconfig": "helm.crossplane.io/v1beta1", "kubernetes-providerconfig": "kubernetes.crossplane.io/v1alpha1"} {
		put(key, obj{"apiVersion": api, "kind": "ProviderConfig", "metadata": obj{"name": pcName},
			"spec": obj{"credentials": obj{"source": "Secret", "secretRef": secret}}}, has(key))
	}

	// Every tool's state first: a dependency may be listed after the tool that needs it.
	states := map[string]toolState{}
	for _, t := range asList(spec["tools"]) {
		tname := str(asObj(t)["name"])
		h, msg := releaseHealth(observed["tool-"+tname])
		st := toolState{health: h, msg: msg}
		for n, c := range asList(tools[tname]["readiness"]) {
			check := asObj(c)
			check["namespace"] = orDefault(str(check["namespace"]), str(tools[tname]["namespace"]))
			st.checks = append(st.checks, check)
			if !has(fmt.Sprintf("readiness-%s-%d", tname, n)) {
				st.waiting = append(st.waiting, fmt.Sprintf("%s %s/%s", check["kind"], check["namespace"], check["name"]))
			}
		}
		states[tname] = st
	}

	releases := map[string]obj{}
	var statusTools []any
	readyCount := 0
	var installing, starting, failures []string
	for _, t := range asList(spec["tools"]) {
		tool := asObj(t)
		tname := str(tool["name"])
		entry := tools[tname]
		chart := merge(asObj(entry["chart"]))
		if v := str(tool["version"]); v != "" {
			chart["version"] = v
		}
		key := "tool-" + tname
		st := states[tname]
		composedBefore := has(key) || has("usage-"+tname)
		for n := range st.checks {
			composedBefore = composedBefore || has(fmt.Sprintf("readiness-%s-%d", tname, n))
		}
		for _, d := range asList(entry["dependsOn"]) {
			composedBefore = composedBefore || has("usage-"+tname+".on."+str(d))
		}
		status := obj{"name": tname, "version": chart["version"], "ready": false}
		if deps := asList(entry["dependsOn"]); len(deps) > 0 {
			status["dependsOn"] = deps
		}
		if !composedBefore {
			var unmet []string
			if clusterHealth != ready {
				unmet = append(unmet, "the cluster")
			}
			for _, d := range asList(entry["dependsOn"]) {
				if !states[str(d)].ready() {
					unmet = append(unmet, str(d))
				}
			}
			if len(unmet) > 0 {
				status["phase"], status["message"] = "Waiting", "waiting for "+strings.Join(unmet, ", ")
				statusTools = append(statusTools, status)
				continue
			}
		}
		r := release(named("tool", tname), tname, chart, str(entry["namespace"]), merge(asObj(entry["values"]), asObj(tool["values"])), pcName)
		fp := asObj(asObj(r["spec"])["forProvider"])
		fp["wait"], fp["waitTimeout"] = true, orDefault(str(entry["waitTimeout"]), waitTimeout)
		releases[tname] = r
		put(key, r, st.health == ready)
		anyCheckObserved := false
		for n := range st.checks {
			anyCheckObserved = anyCheckObserved || has(fmt.Sprintf("readiness-%s-%d", tname, n))
		}
		if st.health == ready || anyCheckObserved {
			for n, check := range st.checks {
				n := strconv.Itoa(n)
				o := object(named("readiness", tname, n), obj{"apiVersion": check["apiVersion"], "kind": check["kind"],
					"metadata": obj{"name": check["name"], "namespace": check["namespace"]}}, pcName)
				os := asObj(o["spec"])
				os["managementPolicies"], os["watch"] = []any{"Observe"}, true
				put("readiness-"+tname+"-"+n, o, has("readiness-"+tname+"-"+n))
			}
		}
		switch {
		case st.health == failed:
			status["phase"], status["message"] = "Failed", st.msg
			failures = append(failures, "tool "+tname+": "+st.msg)
		case st.health != ready:
			status["phase"], status["message"] = "Installing", orDefault(st.msg, "installing")
			installing = append(installing, tname)
		case len(st.waiting) > 0:
			more := ""
			if len(st.waiting) > 1 {
				more = fmt.Sprintf(" (and %d more)", len(st.waiting)-1)
			}
			status["phase"], status["message"] = "Starting", "waiting for "+st.waiting[0]+": not read yet"+more
			starting = append(starting, tname)
		default:
			status["ready"], status["phase"] = true, "Ready"
			readyCount++
		}
		statusTools = append(statusTools, status)
	}
	for tname, r := range releases {
		by := ref(r)
		put("usage-"+tname, usage(named("usage", tname), ref(cluster), by), has("usage-"+tname))
		for _, d := range asList(tools[tname]["dependsOn"]) {
			key := "usage-" + tname + ".on." + str(d)
			if releases[str(d)] == nil && !has(key) {
				continue
			}
			of := obj{"apiVersion": "helm.crossplane.io/v1beta1", "kind": "Release", "resourceRef": obj{"name": named("tool", str(d))}}
			put(key, usage(named("usage", tname, str(d)), of, by), has(key))
		}
	}
	// The tools' provider config goes only after the cluster.
	if clusterComposed {
		of := obj{"apiVersion": "helm.crossplane.io/v1beta1", "kind": "ProviderConfig", "resourceRef": obj{"name": pcName}}
		put("helm-providerconfig-usage", usage(named("helm-providerconfig-usage"), of, ref(cluster)), has("helm-providerconfig-usage"))
	}

	progress := fmt.Sprintf("%d of %d tools ready", readyCount, len(statusTools))
	var phase, text string
	switch {
	case clusterHealth == failed || len(failures) > 0:
		if clusterHealth == failed {
			failures = append([]string{"cluster: " + clusterMsg}, failures...)
		}
		phase, text = "Failed", "failed: "+strings.Join(failures, "; ")+" ("+progress+")"
	case clusterHealth == absent:
		phase, text = "Pending", "creating the vcluster cluster ("+progress+")"
	case clusterHealth == progressing:
		phase, text = "ProvisioningCluster", "provisioning the vcluster cluster ("+progress+")"
	case readyCount < len(statusTools):
		var doing []string
		if len(installing) > 0 {
			doing = append(doing, "installing "+strings.Join(installing, ", "))
		}
		if len(starting) > 0 {
			doing = append(doing, "starting "+strings.Join(starting, ", "))
		}
		phase, text = "InstallingTools", orDefault(strings.Join(doing, "; "), "installing tools")+" ("+progress+")"
	default:
		phase, text = "Ready", "environment ready ("+progress+")"
	}
	clusterStatus := obj{"backend": "vcluster", "ready": clusterHealth == ready, "endpoint": endpoint}
	if version != "" {
		clusterStatus["kubernetesVersion"] = version
	}
	compositeStatus, err := structpb.NewStruct(obj{"apiVersion": xr["apiVersion"], "kind": xr["kind"],
		"status": obj{"phase": phase, "cluster": clusterStatus, "tools": statusTools}})
	if err != nil {
		return nil, err
	}
	compositeReady, ttl := fnv1.Ready_READY_FALSE, durationpb.New(10e9)
	if phase == "Ready" {
		compositeReady, ttl = fnv1.Ready_READY_TRUE, durationpb.New(60e9)
	}
	severity := fnv1.Severity_SEVERITY_NORMAL
	if phase == "Failed" {
		severity = fnv1.Severity_SEVERITY_WARNING
	}
	target := fnv1.Target_TARGET_COMPOSITE_AND_CLAIM
	reason := "Composed"
	return &fnv1.RunFunctionResponse{
		Meta:    &fnv1.ResponseMeta{Tag: req.GetMeta().GetTag(), Ttl: ttl},
		Desired: &fnv1.State{Composite: &fnv1.Resource{Resource: compositeStatus, Ready: compositeReady}, Resources: desired},
		Results: []*fnv1.Result{{Severity: severity, Message: text, Reason: &reason, Target: &target}},
	}, nil
}

func main() {
	address := flag.String("address", "127.0.0.1:9444", "where to listen")
	flag.Parse()
	lis, err := net.Listen("tcp", *address)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer()
	fnv1.RegisterFunctionRunnerServiceServer(s, server{})
	log.Printf("peer listening on %s", lis.Addr())
	log.Fatal(s.Serve(lis))
}
