// Command peer is the benchmark's Go peer: the same rendering as function-xenvironment, written in
// Go on grpc-go, so that both can be measured under the same load. function-go-templating, the peer
// the benchmark would rather use, cannot be fetched here (the Go module proxy refuses it). It reads
// the same Catalog input and renders the same desired state for valid requests; it does not
// validate input as the product does.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"sort"
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

func boundedName(parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	joined := strings.Join(kept, "-")
	if len(joined) <= 63 {
		return joined
	}
	sum := sha256.Sum256([]byte(joined))
	hash := hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(joined[:63-len(hash)-1], "-") + "-" + hash
}

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

func healthOf(r *fnv1.Resource) (health, string) {
	if r == nil {
		return absent, ""
	}
	res := r.GetResource().AsMap()
	conds := asList(asObj(res["status"])["conditions"])
	find := func(t string) obj {
		for _, c := range conds {
			if co := asObj(c); co["type"] == t {
				return co
			}
		}
		return nil
	}
	rd := find("Ready")
	if rd != nil && rd["status"] == "True" {
		return ready, ""
	}
	if sy := find("Synced"); sy != nil && sy["status"] == "False" {
		return failed, str(sy["message"])
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
	if rd != nil && str(rd["message"]) != "" {
		return progressing, str(rd["message"])
	}
	return progressing, ""
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

func ref(r obj) obj {
	return obj{"apiVersion": r["apiVersion"], "kind": r["kind"], "resourceRef": obj{"name": asObj(r["metadata"])["name"]}}
}

func (server) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	input := req.GetInput().AsMap()
	xr := req.GetObserved().GetComposite().GetResource().AsMap()
	observed := req.GetObserved().GetResources()
	meta := asObj(xr["metadata"])
	name := str(meta["name"])
	spec := asObj(xr["spec"])
	clusterSpec := asObj(spec["cluster"])
	catalogCluster := asObj(input["cluster"])
	vc := asObj(catalogCluster["vcluster"])
	secretNS := str(catalogCluster["connectionSecretNamespace"])
	if secretNS == "" {
		secretNS = "crossplane-system"
	}
	tools := map[string]obj{}
	for _, t := range asList(input["tools"]) {
		tools[str(asObj(t)["name"])] = asObj(t)
	}

	hostNS := boundedName("vcluster", name)
	service := "vcluster." + hostNS + ".svc"
	endpoint := "https://" + service + ":443"
	version := str(clusterSpec["kubernetesVersion"])
	if version == "" {
		version = str(vc["defaultKubernetesVersion"])
	}
	secret := obj{"name": boundedName(name, "kubeconfig"), "namespace": secretNS, "key": "kubeconfig"}
	cluster := release(boundedName(name, "cluster"), "vcluster", asObj(vc["chart"]), hostNS,
		merge(asObj(vc["values"]), asObj(asObj(vc["kubernetesVersions"])[version]), asObj(clusterSpec["values"]),
			obj{"exportKubeConfig": obj{"server": endpoint}, "controlPlane": obj{"proxy": obj{"extraSANs": []any{service}}}}),
		str(vc["hostProviderConfigName"]))
	cs := asObj(cluster["spec"])
	cs["connectionDetails"] = []any{obj{"apiVersion": "v1", "kind": "Secret", "name": "vc-vcluster", "namespace": hostNS,
		"fieldPath": "data.config", "toConnectionSecretKey": "kubeconfig", "skipPartOfReleaseCheck": true}}
	cs["writeConnectionSecretToRef"] = obj{"name": secret["name"], "namespace": secretNS}

	clusterHealth, _ := healthOf(observed["cluster"])
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
	put("cluster", cluster, clusterHealth == ready)
	for key, api := range map[string]string{"helm-providerconfig": "helm.crossplane.io/v1beta1", "kubernetes-providerconfig": "kubernetes.crossplane.io/v1alpha1"} {
		put(key, obj{"apiVersion": api, "kind": "ProviderConfig", "metadata": obj{"name": name},
			"spec": obj{"credentials": obj{"source": "Secret", "secretRef": secret}}}, observed[key] != nil)
	}

	releases := map[string]obj{}
	var statusTools []any
	readyCount := 0
	var installing []string
	for _, t := range asList(spec["tools"]) {
		tool := asObj(t)
		tname := str(tool["name"])
		entry := tools[tname]
		chart := merge(asObj(entry["chart"]))
		if v := str(tool["version"]); v != "" {
			chart["version"] = v
		}
		key := "tool-" + tname
		h, msg := healthOf(observed[key])
		var unmet []string
		if clusterHealth != ready {
			unmet = append(unmet, "the cluster")
		}
		for _, d := range asList(entry["dependsOn"]) {
			if dh, _ := healthOf(observed["tool-"+str(d)]); dh != ready {
				unmet = append(unmet, str(d))
			}
		}
		st := obj{"name": tname, "version": chart["version"], "ready": false}
		if h == absent && len(unmet) > 0 {
			st["phase"], st["message"] = "Waiting", "waiting for "+strings.Join(unmet, ", ")
			statusTools = append(statusTools, st)
			continue
		}
		r := release(boundedName(name, tname), tname, chart, str(entry["namespace"]), merge(asObj(entry["values"]), asObj(tool["values"])), name)
		releases[tname] = r
		put(key, r, h == ready)
		switch h {
		case ready:
			st["ready"], st["phase"] = true, "Ready"
			readyCount++
		case failed:
			st["phase"], st["message"] = "Failed", msg
		default:
			if msg == "" {
				msg = "installing"
			}
			st["phase"], st["message"] = "Installing", msg
			installing = append(installing, tname)
		}
		statusTools = append(statusTools, st)
	}
	names := make([]string, 0, len(releases))
	for n := range releases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, tname := range names {
		by := ref(releases[tname])
		put("usage-"+tname, usage(boundedName(name, tname, "uses", "cluster"), ref(cluster), by), observed["usage-"+tname] != nil)
		for _, d := range asList(tools[tname]["dependsOn"]) {
			key := "usage-" + tname + "-on-" + str(d)
			put(key, usage(boundedName(name, tname, "uses", str(d)), ref(releases[str(d)]), by), observed[key] != nil)
		}
	}

	total := len(statusTools)
	progress := fmt.Sprintf("%d of %d tools ready", readyCount, total)
	phase, text := "InstallingTools", "installing "+strings.Join(installing, ", ")+" ("+progress+")"
	switch {
	case clusterHealth == absent:
		phase, text = "Pending", "creating the vcluster cluster ("+progress+")"
	case clusterHealth == progressing:
		phase, text = "ProvisioningCluster", "provisioning the vcluster cluster ("+progress+")"
	case readyCount == total:
		phase, text = "Ready", "environment ready ("+progress+")"
	}
	status := obj{"phase": phase, "cluster": obj{"backend": "vcluster", "ready": clusterHealth == ready, "endpoint": endpoint, "kubernetesVersion": version}, "tools": statusTools}
	compositeStatus, err := structpb.NewStruct(obj{"apiVersion": xr["apiVersion"], "kind": xr["kind"], "status": status})
	if err != nil {
		return nil, err
	}
	compositeReady := fnv1.Ready_READY_FALSE
	if phase == "Ready" {
		compositeReady = fnv1.Ready_READY_TRUE
	}
	target := fnv1.Target_TARGET_COMPOSITE_AND_CLAIM
	reason := "Composed"
	return &fnv1.RunFunctionResponse{
		Meta:    &fnv1.ResponseMeta{Tag: req.GetMeta().GetTag(), Ttl: durationpb.New(60e9)},
		Desired: &fnv1.State{Composite: &fnv1.Resource{Resource: compositeStatus, Ready: compositeReady}, Resources: desired},
		Results: []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_NORMAL, Message: text, Reason: &reason, Target: &target}},
	}, nil
}

func usage(name string, of, by obj) obj {
	return obj{"apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "Usage", "metadata": obj{"name": name},
		"spec": obj{"of": of, "by": by, "replayDeletion": true}}
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
