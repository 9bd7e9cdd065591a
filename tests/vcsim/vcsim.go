// vcsim - a vCenter simulator for Ferry's tests, built on govmomi's
// simulator.VPX() from Debian's golang-github-vmware-govmomi-dev.
// One simulator per process: govmomi keeps its inventory in a package global.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Built by `make check` into the build tree (tests/vcsim/local.mk), never
// installed or committed.  All knobs are command-line flags; the ones marked
// [list] may be repeated.  Sizes take a K, M, G or T suffix (powers of 1024).
// Names with spaces are fine: they are single shell words when quoted.
//
// Server:
//   -listen ADDR            listen address (127.0.0.1:0)
//   -ready FILE             also write the ready line to FILE (atomically)
//   -cert FILE -key FILE    serve this PEM certificate/key; default: a fresh
//                           self-signed RSA-2048 certificate per process, so
//                           two simulators never share a thumbprint
//   -cert-out FILE          write the served certificate (PEM) to FILE
//   -dir DIR                parent of the datastore directories ($TMPDIR)
//   -max-seconds N          exit by itself after N seconds, status 124 (600)
//   -user U -password P     enforce these credentials; wrong ones get
//                           InvalidLogin (default: any non-empty pair)
//   -anonymous-reads        let RetrieveProperties(Ex) run without a login, as
//                           govmomi's simulator does; by default they get
//                           NotAuthenticated without a live session, as a
//                           real vCenter does
//   -session-idle SECONDS   expire sessions idle this long (0: never)
// vCenter:
//   -instance-uuid UUID     about.instanceUuid (default: random)
//   -vc-version V -vc-build B -api-version A   about.{version,build,apiVersion}
//   -vc-hostname NAME       OptionManager VirtualCenter.FQDN/InstanceName,
//                           and a DNS name in the generated certificate
// Inventory (one datacenter DC0; hosts DC0_C<i>_H<j> and DC0_H<j>):
//   -clusters N (1) -cluster-hosts N (3) -standalone-hosts N (1)
//   -datastores N (1)       LocalDS_0..; mounted on every host
//   -vms N (4)              VMs <prefix>0..<prefix>N-1, round-robin over the
//                           hosts (sorted by name) and datastores, powered on
//   -vm-prefix P (VM)       -vm-memory-mb N (32)  -vm-disk-mb N (1)
//   -hw-version vmx-NN      config.version of every VM (vmx-13)
//   -vm-hw VM=vmx-NN        [list] per-VM override
//   -powered-off VM         [list]
//   -suspended VM           [list] powered on, then SuspendVM_Task
//   -vm-power-state VM=S    [list] runtime.powerState set to S as is, even
//                           a value vSphere's enum does not have
//   -vm-uuid VM=UUID        [list] config.instanceUuid
//   -vm-bios-uuid VM=UUID   [list] config.uuid (the BIOS UUID)
//   -vm-mac VM=MAC          [list] the MAC address of the VM's NIC
//   -host-name OLD=NEW      [list] rename a host (applied first: other
//                           knobs name hosts by their new name)
//   -esx-version V -esx-build B   every host's config.product
//   -host-esx HOST=V:B      [list] per-host override
//   -maintenance HOST       [list] runtime.inMaintenanceMode = true
//   -disconnected HOST      [list] runtime.connectionState = disconnected
//                           (and its VMs' connectionState)
// Networks (DVS0 with DC0_DVPG0 and the standard "VM Network" always exist):
//   -portgroup NAME         [list] standard port group on every host's vSwitch0
//   -dvportgroup NAME       [list] distributed port group on DVS0
//   -vm-network NAME        network of every VM's one NIC (DC0_DVPG0)
//   -network-name OLD=NEW   [list] rename a network after the VMs are made,
//                           without the simulator's DuplicateName check: two
//                           networks may share a name, as on two switches
//   -vm-nic VM=NAME         [list] per-VM override
//   -portgroup-vlan NAME=ID [list] the VLAN of port group NAME (standard: on
//                           every host that has it, in config.network.
//                           portgroup[].spec.vlanId; distributed: its
//                           config.defaultPortConfig.vlan): an ID 0..4095,
//                           or, distributed only, "trunk" (0-4094) or
//                           "pvlan:N"; by the name it was made with, before
//                           -network-name (default 0: no VLAN)
//   -host-portgroup-vlan HOST:NAME=ID [list]  a standard port group's VLAN
//                           on that host only (applied after -portgroup-vlan)
//   -dns-domain D -dns-server IP [list]   hosts' config.network.dnsConfig
// Datastores:
//   -ds-capacity SIZE -ds-free SIZE       every datastore's summary
//   -ds-space DS=CAP:FREE   [list] per-datastore override
//   -ds-no-free DS          [list] the property collector leaves that
//                           datastore's summary.freeSpace out of its replies,
//                           as vCenter does with a property it has no value for
// Encryption and EVC:
//   -encrypted-vm VM        [list] config.keyId (and its disks' keyId)
//   -key-provider NAME      providerId.id of those keys (kms-1)
//   -cluster-evc KEY        clusters' summary.currentEVCModeKey (and their
//                           hosts' summary.currentEVCModeKey)
//   -host-max-evc KEY       hosts' summary.maxEVCModeKey
//   -host-evc HOST=KEY      [list] per-host summary.maxEVCModeKey
//   -vm-min-evc KEY         VMs' runtime.minRequiredEVCModeKey
//   -vm-evc VM=KEY          [list] per-VM override
// Provisioning checker (govmomi has none; added here):
//   -checker ok|off         ok: CheckRelocate_Task and
//                           QueryVMotionCompatibilityEx_Task answer tasks whose
//                           result is ArrayOfCheckResult; off: MethodNotFound
//   -checker-error VM=MSG   [list] that VM's CheckResult carries an error
//   -checker-warning VM=MSG [list] ... a warning (MigrationFault, MSG as
//                           localizedMessage)
// Paging (govmomi ignores RetrieveOptions.maxObjects and has no
// ContinueRetrievePropertiesEx):
//   -paging                 RetrievePropertiesEx answers at most maxObjects
//                           objects and a token; ContinueRetrievePropertiesEx
//                           gives the next pages (tokens are per session)
// Faults for client tests:
//   -stall-after N          SOAP requests after the Nth (counting all, from 1)
//                           get no answer (-1: off)
//   -stall-method NAME      ... only those calling NAME
//   -stall-mode hang|close  hang: read the request, never answer (until the
//                           client goes); close: drop the connection unanswered
//   -malformed NAME         [list] reply to NAME with its real reply cut in the
//                           middle: HTTP status and Content-Length consistent,
//                           the XML invalid
//
// When serving, one line of JSON goes to stdout (and to -ready FILE):
//   {"url":"https://127.0.0.1:PORT/sdk","thumbprint_sha1":"AA:..",
//    "thumbprint_sha256":"..","instance_uuid":"..","pid":N}
// SIGTERM/SIGINT: remove the ready file and the datastore directories, exit 0.

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const maxSOAPBody = 32 << 20 // a request body larger than this is refused

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// pairs parses KEY=VALUE entries of a list flag (split at the first '=').
func (l listFlag) pairs(flagName string) map[string]string {
	m := make(map[string]string)
	for _, s := range l {
		i := strings.IndexByte(s, '=')
		if i <= 0 {
			die("-%s %q: want NAME=VALUE", flagName, s)
		}
		m[s[:i]] = s[i+1:]
	}
	return m
}

func (l listFlag) set() map[string]bool {
	m := make(map[string]bool)
	for _, s := range l {
		m[s] = true
	}
	return m
}

var (
	fListen     = flag.String("listen", "127.0.0.1:0", "listen address")
	fReady      = flag.String("ready", "", "write the ready line to this file too")
	fCert       = flag.String("cert", "", "PEM certificate to serve")
	fKey        = flag.String("key", "", "PEM private key of -cert")
	fCertOut    = flag.String("cert-out", "", "write the served certificate (PEM) here")
	fDir        = flag.String("dir", "", "parent directory of the datastore directories")
	fMaxSeconds = flag.Int("max-seconds", 600, "exit after this many seconds")
	fUser       = flag.String("user", "", "enforced user name")
	fPassword   = flag.String("password", "", "enforced password")
	fAnonReads  = flag.Bool("anonymous-reads", false, "allow RetrieveProperties(Ex) without a session")
	fIdle       = flag.Int("session-idle", 0, "expire sessions idle this many seconds")

	fInstanceUUID = flag.String("instance-uuid", "", "about.instanceUuid")
	fVCVersion    = flag.String("vc-version", "", "about.version")
	fVCBuild      = flag.String("vc-build", "", "about.build")
	fAPIVersion   = flag.String("api-version", "", "about.apiVersion")
	fVCHostname   = flag.String("vc-hostname", "", "vCenter host name")

	fClusters     = flag.Int("clusters", 1, "clusters")
	fClusterHosts = flag.Int("cluster-hosts", 3, "hosts per cluster")
	fStandalone   = flag.Int("standalone-hosts", 1, "standalone hosts")
	fDatastores   = flag.Int("datastores", 1, "datastores")
	fVMs          = flag.Int("vms", 4, "VMs in total")
	fVMPrefix     = flag.String("vm-prefix", "VM", "VM name prefix")
	fVMMemory     = flag.Int("vm-memory-mb", 32, "memory of each VM (MB)")
	fVMDisk       = flag.Int("vm-disk-mb", 1, "disk size of each VM (MB)")
	fHWVersion    = flag.String("hw-version", "", "config.version of every VM")
	fESXVersion   = flag.String("esx-version", "", "every host's product version")
	fESXBuild     = flag.String("esx-build", "", "every host's product build")
	fVMNetwork    = flag.String("vm-network", "DC0_DVPG0", "network of every VM's NIC")
	fDNSDomain    = flag.String("dns-domain", "", "hosts' DNS domain name")
	fDSCapacity   = flag.String("ds-capacity", "", "every datastore's capacity")
	fDSFree       = flag.String("ds-free", "", "every datastore's free space")
	fKeyProvider  = flag.String("key-provider", "kms-1", "key provider of encrypted VMs")
	fClusterEVC   = flag.String("cluster-evc", "", "clusters' current EVC mode key")
	fHostMaxEVC   = flag.String("host-max-evc", "", "hosts' max EVC mode key")
	fVMMinEVC     = flag.String("vm-min-evc", "", "VMs' minRequiredEVCModeKey")
	fChecker      = flag.String("checker", "ok", "provisioning checker: ok or off")
	fStallAfter   = flag.Int("stall-after", -1, "stall SOAP requests after the Nth")
	fStallMethod  = flag.String("stall-method", "", "stall only this method")
	fStallMode    = flag.String("stall-mode", "hang", "hang or close")
	fPaging       = flag.Bool("paging", false, "honour maxObjects, answer ContinueRetrievePropertiesEx")

	fVMHW, fPoweredOff, fHostName, fHostESX, fMaintenance, fDisconnected listFlag
	fPortgroups, fDVPortgroups, fVMNic, fDNSServers, fDSSpace            listFlag
	fEncrypted, fVMEVC, fCheckerError, fCheckerWarning, fMalformed       listFlag
	fSuspended, fVMPower, fVMUUID, fVMBiosUUID, fVMMAC, fHostEVC         listFlag
	fNetName, fPGVlan, fHostPGVlan, fDSNoFree                            listFlag
)

func init() {
	flag.Var(&fVMHW, "vm-hw", "VM=vmx-NN")
	flag.Var(&fPoweredOff, "powered-off", "VM")
	flag.Var(&fHostName, "host-name", "OLD=NEW")
	flag.Var(&fHostESX, "host-esx", "HOST=VERSION:BUILD")
	flag.Var(&fMaintenance, "maintenance", "HOST")
	flag.Var(&fDisconnected, "disconnected", "HOST")
	flag.Var(&fPortgroups, "portgroup", "standard port group NAME")
	flag.Var(&fDVPortgroups, "dvportgroup", "distributed port group NAME")
	flag.Var(&fVMNic, "vm-nic", "VM=NETWORK")
	flag.Var(&fDNSServers, "dns-server", "IP")
	flag.Var(&fDSSpace, "ds-space", "DS=CAPACITY:FREE")
	flag.Var(&fDSNoFree, "ds-no-free", "DS")
	flag.Var(&fEncrypted, "encrypted-vm", "VM")
	flag.Var(&fVMEVC, "vm-evc", "VM=KEY")
	flag.Var(&fCheckerError, "checker-error", "VM=MESSAGE")
	flag.Var(&fCheckerWarning, "checker-warning", "VM=MESSAGE")
	flag.Var(&fMalformed, "malformed", "METHOD")
	flag.Var(&fSuspended, "suspended", "VM")
	flag.Var(&fVMPower, "vm-power-state", "VM=STATE")
	flag.Var(&fVMUUID, "vm-uuid", "VM=UUID")
	flag.Var(&fVMBiosUUID, "vm-bios-uuid", "VM=UUID")
	flag.Var(&fVMMAC, "vm-mac", "VM=MAC")
	flag.Var(&fHostEVC, "host-evc", "HOST=KEY")
	flag.Var(&fNetName, "network-name", "OLD=NEW")
	flag.Var(&fPGVlan, "portgroup-vlan", "NAME=VLAN (0..4095, trunk, pvlan:N)")
	flag.Var(&fHostPGVlan, "host-portgroup-vlan", "HOST:NAME=VLAN")
}

var (
	cleanupOnce sync.Once
	model       *simulator.Model
)

// cleanup removes what this process left on disk; safe to call twice.
func cleanup() {
	cleanupOnce.Do(func() {
		if *fReady != "" {
			_ = os.Remove(*fReady)
		}
		if model != nil {
			model.Remove()
		}
	})
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "vcsim: "+format+"\n", args...)
	cleanup()
	os.Exit(1)
}

func parseSize(s string) int64 {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		case 'T', 't':
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		die("bad size %q", s)
	}
	return v * mult
}

func main() {
	flag.Parse()
	if flag.NArg() != 0 {
		die("unexpected argument %q", flag.Arg(0))
	}
	if (*fUser == "") != (*fPassword == "") {
		die("-user and -password go together")
	}
	if *fChecker != "ok" && *fChecker != "off" {
		die("-checker: ok or off")
	}
	if *fStallMode != "hang" && *fStallMode != "close" {
		die("-stall-mode: hang or close")
	}
	if (*fCert == "") != (*fKey == "") {
		die("-cert and -key go together")
	}
	if *fClusters < 0 || *fClusterHosts < 0 || *fStandalone < 0 || *fVMs < 0 ||
		*fDatastores < 1 || *fClusters**fClusterHosts+*fStandalone < 1 {
		die("need at least one host and one datastore")
	}
	if *fMaxSeconds <= 0 {
		die("-max-seconds must be positive")
	}

	// Never outlive the test that started us, whatever happens next.
	time.AfterFunc(time.Duration(*fMaxSeconds)*time.Second, func() {
		fmt.Fprintf(os.Stderr, "vcsim: -max-seconds %d reached, exiting\n", *fMaxSeconds)
		cleanup()
		os.Exit(124)
	})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		<-sig
		cleanup()
		os.Exit(0)
	}()

	if *fDir != "" {
		// The model creates its datastore directories with ioutil.TempDir("").
		_ = os.Setenv("TMPDIR", *fDir)
	}
	if *fIdle > 0 {
		simulator.SessionIdleTimeout = time.Duration(*fIdle) * time.Second
	}

	m := simulator.VPX()
	m.Datacenter = 1
	m.Cluster = *fClusters
	m.ClusterHost = *fClusterHosts
	m.Host = *fStandalone
	m.Datastore = *fDatastores
	m.Machine = 0 // VMs are made below, to get exactly -vms of them
	m.Portgroup = 1
	about := &m.ServiceContent.About
	if *fInstanceUUID != "" {
		about.InstanceUuid = *fInstanceUUID
	} else {
		about.InstanceUuid = uuid.New().String()
	}
	if *fVCVersion != "" {
		about.Version = *fVCVersion
	}
	if *fVCBuild != "" {
		about.Build = *fVCBuild
	}
	if *fAPIVersion != "" {
		about.ApiVersion = *fAPIVersion
	}
	about.FullName = fmt.Sprintf("VMware vCenter Server %s build-%s", about.Version, about.Build)

	model = m
	if err := m.Create(); err != nil {
		die("create: %v", err)
	}
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, m.Service) // in-process, no HTTP
	if err != nil {
		die("client: %v", err)
	}
	if err := shape(ctx, c); err != nil {
		die("%v", err)
	}
	serve()
}

// Inventory helpers.

func datacenter() *simulator.Datacenter {
	return simulator.Map.Any("Datacenter").(*simulator.Datacenter)
}

func sortedHosts() []*simulator.HostSystem {
	var hosts []*simulator.HostSystem
	for _, e := range simulator.Map.All("HostSystem") {
		hosts = append(hosts, e.(*simulator.HostSystem))
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
	return hosts
}

func hostByName(name, flagName string) *simulator.HostSystem {
	for _, h := range sortedHosts() {
		if h.Name == name {
			return h
		}
	}
	die("-%s: no host named %q", flagName, name)
	return nil
}

func hostParent(h *simulator.HostSystem) *mo.ComputeResource {
	switch p := simulator.Map.Get(*h.Parent).(type) {
	case *mo.ComputeResource:
		return p
	case *simulator.ClusterComputeResource:
		return &p.ComputeResource
	}
	die("host %s: unknown parent", h.Name)
	return nil
}

func vmByName(vms map[string]*simulator.VirtualMachine, name, flagName string) *simulator.VirtualMachine {
	vm, ok := vms[name]
	if !ok {
		die("-%s: no VM named %q", flagName, name)
	}
	return vm
}

func networkByName(name string) types.ManagedObjectReference {
	e := simulator.Map.FindByName(name, datacenter().Network)
	if e == nil {
		die("no network named %q", name)
	}
	return e.Reference()
}

// taskResult reads a task the simulator has already run (tasks run
// synchronously inside the call that creates them).
func taskResult(ref types.ManagedObjectReference) (types.AnyType, error) {
	t, ok := simulator.Map.Get(ref).(*simulator.Task)
	if !ok {
		return nil, fmt.Errorf("task %s not found", ref)
	}
	if t.Info.Error != nil {
		return nil, fmt.Errorf("%s: %s", t.Info.Name, t.Info.Error.LocalizedMessage)
	}
	return t.Info.Result, nil
}

func nicBacking(ctx context.Context, c *vim25.Client, name string) (types.BaseVirtualDeviceBackingInfo, error) {
	ref := networkByName(name)
	switch ref.Type {
	case "DistributedVirtualPortgroup":
		return object.NewDistributedVirtualPortgroup(c, ref).EthernetCardBackingInfo(ctx)
	case "Network":
		r := ref
		return &types.VirtualEthernetCardNetworkBackingInfo{
			VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: name},
			Network:                        &r,
		}, nil
	}
	return nil, fmt.Errorf("network %q is a %s", name, ref.Type)
}

func addStandardPortgroup(ctx context.Context, c *vim25.Client, hosts []*simulator.HostSystem, name string) error {
	spec := types.HostPortGroupSpec{Name: name, VswitchName: "vSwitch0", Policy: types.HostNetworkPolicy{}}
	key := "key-vim.host.PortGroup-" + name
	for i, h := range hosts {
		ns := simulator.Map.Get(*h.ConfigManager.NetworkSystem).(*simulator.HostNetworkSystem)
		if i == 0 {
			// Creates the Network entity in the datacenter's network folder.
			if _, err := methods.AddPortGroup(ctx, c, &types.AddPortGroup{This: ns.Self, Portgrp: spec}); err != nil {
				return fmt.Errorf("port group %q: %v", name, err)
			}
		} else {
			ns.NetworkInfo.Vswitch[0].Portgroup = append(ns.NetworkInfo.Vswitch[0].Portgroup, name)
			ns.NetworkInfo.Portgroup = append(append([]types.HostPortGroup(nil), ns.NetworkInfo.Portgroup...),
				types.HostPortGroup{Key: key, Spec: spec})
		}
	}
	ref := networkByName(name)
	for _, h := range hosts {
		cfg := h.Config.Network
		cfg.Portgroup = append(append([]types.HostPortGroup(nil), cfg.Portgroup...),
			types.HostPortGroup{Key: key, Vswitch: "key-vim.host.VirtualSwitch-vSwitch0", Spec: spec})
		if len(cfg.Vswitch) > 0 {
			cfg.Vswitch[0].Portgroup = append(cfg.Vswitch[0].Portgroup, key)
		}
		h.Network = append(h.Network, ref)
		cr := hostParent(h)
		if simulator.Map.FindByName(name, cr.Network) == nil {
			cr.Network = append(cr.Network, ref)
		}
	}
	return nil
}

// splitVlan splits NAME=VLAN at the last '=' (names may hold one).
func splitVlan(flagName, arg string) (string, string) {
	i := strings.LastIndexByte(arg, '=')
	if i <= 0 || i == len(arg)-1 {
		die("-%s %q: want NAME=VLAN", flagName, arg)
	}
	return arg[:i], arg[i+1:]
}

// setVlan sets port group name's VLAN: v is an ID 0..4095, "trunk" or
// "pvlan:N" (the last two for a distributed port group only).  A standard
// port group's is set on each of hosts that has it (at least one must).
// what (the flag and its argument) starts each error message.
func setVlan(hosts []*simulator.HostSystem, name, v, what string) {
	if simulator.Map.FindByName(name, datacenter().Network) == nil {
		die("%s: no network named %q", what, name)
	}
	var spec types.BaseVmwareDistributedVirtualSwitchVlanSpec
	id := -1
	switch {
	case v == "trunk":
		spec = &types.VmwareDistributedVirtualSwitchTrunkVlanSpec{VlanId: []types.NumericRange{{Start: 0, End: 4094}}}
	case strings.HasPrefix(v, "pvlan:"):
		n, err := strconv.Atoi(v[len("pvlan:"):])
		if err != nil || n < 1 || n > 4094 {
			die("%s: a private VLAN ID is 1..4094", what)
		}
		spec = &types.VmwareDistributedVirtualSwitchPvlanSpec{PvlanId: int32(n)}
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 4095 {
			die("%s: want a VLAN ID 0..4095, trunk or pvlan:N", what)
		}
		id = n
		spec = &types.VmwareDistributedVirtualSwitchVlanIdSpec{VlanId: int32(n)}
	}
	switch n := simulator.Map.Get(networkByName(name)).(type) {
	case *simulator.DistributedVirtualPortgroup:
		ps, ok := n.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting)
		if !ok {
			ps = &types.VMwareDVSPortSetting{}
			n.Config.DefaultPortConfig = ps
		}
		ps.Vlan = spec
	case *mo.Network:
		if id < 0 {
			die("%s: %s is a standard port group: give a VLAN ID 0..4095", what, name)
		}
		set := 0
		for _, h := range hosts {
			for _, pgs := range [][]types.HostPortGroup{h.Config.Network.Portgroup, hostNetworkInfo(h).Portgroup} {
				for i := range pgs {
					if pgs[i].Spec.Name == name {
						pgs[i].Spec.VlanId = int32(id)
						set++
					}
				}
			}
		}
		if set == 0 {
			die("%s: no host has port group %s", what, name)
		}
	default:
		die("%s: %s is a %T", what, name, n)
	}
}

func hostNetworkInfo(h *simulator.HostSystem) *types.HostNetworkInfo {
	return simulator.Map.Get(*h.ConfigManager.NetworkSystem).(*simulator.HostNetworkSystem).NetworkInfo
}

// shape turns the default VPX model into the one the flags ask for.
func shape(ctx context.Context, c *vim25.Client) error {
	dc := datacenter()

	// Host renames first: every later knob names hosts by their final name.
	for old, name := range fHostName.pairs("host-name") {
		h := hostByName(old, "host-name")
		h.Name = name
		h.Summary.Config.Name = name
		if cr, ok := simulator.Map.Get(*h.Parent).(*mo.ComputeResource); ok && cr.Name == old {
			cr.Name = name // a standalone host's compute resource bears its name
		}
	}
	hosts := sortedHosts()

	// ESXi product: one copy per host (govmomi shares summary.config.product).
	hostESX := fHostESX.pairs("host-esx")
	for name := range hostESX {
		hostByName(name, "host-esx")
	}
	for _, h := range hosts {
		p := &h.Config.Product
		if *fESXVersion != "" {
			p.Version = *fESXVersion
		}
		if *fESXBuild != "" {
			p.Build = *fESXBuild
		}
		if vb, ok := hostESX[h.Name]; ok {
			i := strings.IndexByte(vb, ':')
			if i <= 0 || i == len(vb)-1 {
				die("-host-esx %s=%s: want VERSION:BUILD", h.Name, vb)
			}
			p.Version, p.Build = vb[:i], vb[i+1:]
		}
		p.FullName = fmt.Sprintf("VMware ESXi %s build-%s", p.Version, p.Build)
		h.Summary.Config.Product = p

		if *fDNSDomain != "" || len(fDNSServers) > 0 {
			short := h.Name
			if i := strings.IndexByte(short, '.'); i > 0 {
				short = short[:i]
			}
			dns := &types.HostDnsConfig{
				HostName:   short,
				DomainName: *fDNSDomain,
				Address:    append([]string(nil), fDNSServers...),
			}
			if *fDNSDomain != "" {
				dns.SearchDomain = []string{*fDNSDomain}
			}
			h.Config.Network.DnsConfig = dns
		}
		if *fHostMaxEVC != "" {
			h.Summary.MaxEVCModeKey = *fHostMaxEVC
		}
	}
	for name, key := range fHostEVC.pairs("host-evc") {
		hostByName(name, "host-evc").Summary.MaxEVCModeKey = key
	}
	for _, name := range fMaintenance {
		hostByName(name, "maintenance").Runtime.InMaintenanceMode = true
	}
	for _, name := range fDisconnected {
		hostByName(name, "disconnected").Runtime.ConnectionState = types.HostSystemConnectionStateDisconnected
	}
	if *fClusterEVC != "" {
		for _, e := range simulator.Map.All("ClusterComputeResource") {
			cl := e.(*simulator.ClusterComputeResource)
			if s, ok := cl.Summary.(*types.ClusterComputeResourceSummary); ok {
				s.CurrentEVCModeKey = *fClusterEVC
			}
			for _, ref := range cl.Host {
				simulator.Map.Get(ref).(*simulator.HostSystem).Summary.CurrentEVCModeKey = *fClusterEVC
			}
		}
	}

	// vCenter host name, as a real vCenter reports it in its advanced settings.
	if *fVCHostname != "" {
		om := simulator.Map.OptionManager()
		set := map[string]bool{}
		for _, o := range om.Setting {
			ov := o.GetOptionValue()
			if ov.Key == "VirtualCenter.FQDN" || ov.Key == "VirtualCenter.InstanceName" {
				ov.Value = *fVCHostname
				set[ov.Key] = true
			}
		}
		for _, k := range []string{"VirtualCenter.FQDN", "VirtualCenter.InstanceName"} {
			if !set[k] {
				om.Setting = append(om.Setting, &types.OptionValue{Key: k, Value: *fVCHostname})
			}
		}
	}

	// Networks.
	for _, name := range fPortgroups {
		if err := addStandardPortgroup(ctx, c, hosts, name); err != nil {
			return err
		}
	}
	if len(fDVPortgroups) > 0 {
		// dc.Network lists DVPGs but not the VmwareDistributedVirtualSwitch.
		folder := simulator.Map.Get(dc.NetworkFolder).(*simulator.Folder)
		dvs := simulator.Map.FindByName("DVS0", folder.ChildEntity)
		if dvs == nil {
			return errors.New("DVS0 not found")
		}
		for _, name := range fDVPortgroups {
			res, err := methods.AddDVPortgroup_Task(ctx, c, &types.AddDVPortgroup_Task{
				This: dvs.Reference(),
				Spec: []types.DVPortgroupConfigSpec{{Name: name, Type: "earlyBinding", NumPorts: 128}},
			})
			if err != nil {
				return fmt.Errorf("dvportgroup %q: %v", name, err)
			}
			if _, err := taskResult(res.Returnval); err != nil {
				return fmt.Errorf("dvportgroup %q: %v", name, err)
			}
		}
	}

	// VLANs, by the names the port groups were made with.
	for _, arg := range fPGVlan {
		name, v := splitVlan("portgroup-vlan", arg)
		setVlan(hosts, name, v, "-portgroup-vlan "+strconv.Quote(arg))
	}
	for _, arg := range fHostPGVlan {
		i := strings.IndexByte(arg, ':')
		if i <= 0 {
			die("-host-portgroup-vlan %q: want HOST:NAME=VLAN", arg)
		}
		name, v := splitVlan("host-portgroup-vlan", arg[i+1:])
		what := "-host-portgroup-vlan " + strconv.Quote(arg)
		if simulator.Map.FindByName(name, datacenter().Network) == nil {
			die("%s: no network named %q", what, name)
		}
		if _, ok := simulator.Map.Get(networkByName(name)).(*mo.Network); !ok {
			die("%s: %s is not a standard port group", what, name)
		}
		setVlan([]*simulator.HostSystem{hostByName(arg[:i], "host-portgroup-vlan")}, name, v, what)
	}

	vms, err := createVMs(ctx, c, hosts)
	if err != nil {
		return err
	}

	for old, name := range fNetName.pairs("network-name") {
		if simulator.Map.FindByName(old, dc.Network) == nil {
			die("-network-name %s=%s: no network named %q", old, name, old)
		}
		switch n := simulator.Map.Get(networkByName(old)).(type) {
		case *simulator.DistributedVirtualPortgroup:
			n.Name = name
			n.Config.Name = name
		case *mo.Network:
			n.Name = name
			n.Summary.GetNetworkSummary().Name = name
		default:
			die("-network-name %s: a %T", old, n)
		}
	}

	// Per-VM facts.
	hw := fVMHW.pairs("vm-hw")
	evc := fVMEVC.pairs("vm-evc")
	for name := range hw {
		vmByName(vms, name, "vm-hw")
	}
	for name := range evc {
		vmByName(vms, name, "vm-evc")
	}
	for name, vm := range vms {
		if *fHWVersion != "" {
			vm.Config.Version = *fHWVersion
		}
		if v, ok := hw[name]; ok {
			vm.Config.Version = v
		}
		key := *fVMMinEVC
		if v, ok := evc[name]; ok {
			key = v
		}
		vm.Runtime.MinRequiredEVCModeKey = key
		vm.Summary.Runtime.MinRequiredEVCModeKey = key
		host := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem)
		if host.Runtime.ConnectionState == types.HostSystemConnectionStateDisconnected {
			vm.Runtime.ConnectionState = types.VirtualMachineConnectionStateDisconnected
			vm.Summary.Runtime.ConnectionState = vm.Runtime.ConnectionState
		}
	}
	for name, u := range fVMUUID.pairs("vm-uuid") {
		vm := vmByName(vms, name, "vm-uuid")
		vm.Config.InstanceUuid = u
		vm.Summary.Config.InstanceUuid = u
	}
	for name, u := range fVMBiosUUID.pairs("vm-bios-uuid") {
		vm := vmByName(vms, name, "vm-bios-uuid")
		vm.Config.Uuid = u
		vm.Summary.Config.Uuid = u
	}
	for name, mac := range fVMMAC.pairs("vm-mac") {
		vm := vmByName(vms, name, "vm-mac")
		if _, err := net.ParseMAC(mac); err != nil {
			die("-vm-mac %s=%s: %v", name, mac, err)
		}
		set := false
		for _, d := range vm.Config.Hardware.Device {
			if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
				card := nic.GetVirtualEthernetCard()
				card.MacAddress = mac
				card.AddressType = string(types.VirtualEthernetCardMacTypeManual)
				set = true
			}
		}
		if !set {
			die("-vm-mac: %s has no NIC", name)
		}
	}
	for _, name := range fSuspended {
		vm := vmByName(vms, name, "suspended")
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			die("-suspended %s: not powered on", name)
		}
		res, err := methods.SuspendVM_Task(ctx, c, &types.SuspendVM_Task{This: vm.Self})
		if err != nil {
			return fmt.Errorf("suspend %s: %v", name, err)
		}
		if _, err := taskResult(res.Returnval); err != nil {
			return fmt.Errorf("suspend %s: %v", name, err)
		}
	}
	for name, st := range fVMPower.pairs("vm-power-state") {
		vm := vmByName(vms, name, "vm-power-state")
		vm.Runtime.PowerState = types.VirtualMachinePowerState(st)
		vm.Summary.Runtime.PowerState = vm.Runtime.PowerState
	}
	for _, name := range fEncrypted {
		vm := vmByName(vms, name, "encrypted-vm")
		key := func(what string) *types.CryptoKeyId {
			return &types.CryptoKeyId{
				KeyId:      uuid.NewSHA1(uuid.NameSpaceOID, []byte(*fKeyProvider+"/"+name+"/"+what)).String(),
				ProviderId: &types.KeyProviderId{Id: *fKeyProvider},
			}
		}
		vm.Config.KeyId = key("vm")
		for _, d := range vm.Config.Hardware.Device {
			if disk, ok := d.(*types.VirtualDisk); ok {
				if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
					b.KeyId = key(b.FileName)
				}
			}
		}
	}

	// Datastore space last: creating disks takes from the free space.
	space := fDSSpace.pairs("ds-space")
	noFree := fDSNoFree.set()
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		capacity, free := ds.Summary.Capacity, ds.Summary.FreeSpace
		if *fDSCapacity != "" {
			capacity = parseSize(*fDSCapacity)
		}
		if *fDSFree != "" {
			free = parseSize(*fDSFree)
		}
		if v, ok := space[ds.Name]; ok {
			i := strings.IndexByte(v, ':')
			if i <= 0 || i == len(v)-1 {
				die("-ds-space %s=%s: want CAPACITY:FREE", ds.Name, v)
			}
			capacity, free = parseSize(v[:i]), parseSize(v[i+1:])
			delete(space, ds.Name)
		}
		ds.Summary.Capacity = capacity
		ds.Summary.FreeSpace = free
		info := ds.Info.GetDatastoreInfo()
		info.FreeSpace = free
		info.MaxFileSize = free
		if noFree[ds.Name] {
			dsNoFree[ds.Self] = true
			delete(noFree, ds.Name)
		}
	}
	for name := range space {
		die("-ds-space: no datastore named %q", name)
	}
	for name := range noFree {
		die("-ds-no-free: no datastore named %q", name)
	}

	if *fChecker == "ok" {
		installChecker(vms)
	}
	if *fPaging || len(dsNoFree) > 0 {
		pc := &ferryPC{}
		pc.Self = model.ServiceContent.PropertyCollector
		simulator.Map.Put(pc) // replaces the singleton; sessions get their own copy (Session.Get)
	}
	return nil
}

// The property collector with this program's additions, installed when a
// knob needs one: paging (-paging: the first reply holds at most maxObjects
// objects and a token for the rest; each ContinueRetrievePropertiesEx gives
// the next page, the last without a token) and properties left out of the
// replies (-ds-no-free), as vCenter leaves out a property it has no value
// for.  The simulator makes a zero-valued copy of this type per session (by
// reflection), so the pending pages live in that session's copy and the
// knobs' settings in package variables.
type ferryPC struct {
	simulator.PropertyCollector
	mu      sync.Mutex
	pending map[string]*pagedRest
	next    int
}

type pagedRest struct {
	objs []types.ObjectContent
	max  int
}

// dsNoFree holds the datastores of -ds-no-free, by reference.
var dsNoFree = map[types.ManagedObjectReference]bool{}

// unset drops summary.freeSpace from the objects of the -ds-no-free
// datastores (a path asked for as such; a whole "summary" keeps it, its
// freeSpace being no optional field).
func unset(objs []types.ObjectContent) {
	for i := range objs {
		if !dsNoFree[objs[i].Obj] {
			continue
		}
		ps := objs[i].PropSet[:0]
		for _, p := range objs[i].PropSet {
			if p.Name != "summary.freeSpace" {
				ps = append(ps, p)
			}
		}
		objs[i].PropSet = ps
	}
}

// page cuts objs to max and keeps the rest under a new token ("" when none).
func (p *ferryPC) page(objs []types.ObjectContent, max int) ([]types.ObjectContent, string) {
	if !*fPaging || max <= 0 || len(objs) <= max {
		return objs, ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		p.pending = make(map[string]*pagedRest)
	}
	p.next++
	token := fmt.Sprintf("page-%d", p.next)
	p.pending[token] = &pagedRest{objs: objs[max:], max: max}
	return objs[:max], token
}

func (p *ferryPC) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	res := p.PropertyCollector.RetrievePropertiesEx(ctx, r)
	body, ok := res.(*methods.RetrievePropertiesExBody)
	if !ok || body.Fault_ != nil || body.Res == nil || body.Res.Returnval == nil {
		return res
	}
	rr := body.Res.Returnval
	unset(rr.Objects)
	rr.Objects, rr.Token = p.page(rr.Objects, int(r.Options.MaxObjects))
	return body
}

// RetrieveProperties: the embedded one calls the embedded
// RetrievePropertiesEx, not the one above.
func (p *ferryPC) RetrieveProperties(ctx *simulator.Context, r *types.RetrieveProperties) soap.HasFault {
	res := p.PropertyCollector.RetrieveProperties(ctx, r)
	if body, ok := res.(*methods.RetrievePropertiesBody); ok && body.Fault_ == nil && body.Res != nil {
		unset(body.Res.Returnval)
	}
	return res
}

func (p *ferryPC) ContinueRetrievePropertiesEx(ctx *simulator.Context, r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	body := new(methods.ContinueRetrievePropertiesExBody)
	p.mu.Lock()
	rest, ok := p.pending[r.Token]
	delete(p.pending, r.Token)
	p.mu.Unlock()
	if !ok {
		body.Fault_ = simulator.Fault(fmt.Sprintf("unknown token %q", r.Token), &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	objs, token := p.page(rest.objs, rest.max)
	body.Res = &types.ContinueRetrievePropertiesExResponse{Returnval: types.RetrieveResult{Objects: objs, Token: token}}
	return body
}

func createVMs(ctx context.Context, c *vim25.Client, hosts []*simulator.HostSystem) (map[string]*simulator.VirtualMachine, error) {
	dc := datacenter()
	var dss []string
	for _, ref := range dc.Datastore {
		dss = append(dss, simulator.Map.Get(ref).(*simulator.Datastore).Name)
	}
	sort.Strings(dss)
	nics := fVMNic.pairs("vm-nic")
	off := fPoweredOff.set()
	backings := map[string]types.BaseVirtualDeviceBackingInfo{}
	vms := make(map[string]*simulator.VirtualMachine)

	for i := 0; i < *fVMs; i++ {
		name := fmt.Sprintf("%s%d", *fVMPrefix, i)
		h := hosts[i%len(hosts)]
		pool := hostParent(h).ResourcePool
		dsName := dss[i%len(dss)]

		netName := *fVMNetwork
		if v, ok := nics[name]; ok {
			netName = v
		}
		backing, ok := backings[netName]
		if !ok {
			b, err := nicBacking(ctx, c, netName)
			if err != nil {
				return nil, err
			}
			backings[netName], backing = b, b
		}

		var devices object.VirtualDeviceList
		scsi, _ := devices.CreateSCSIController("pvscsi")
		disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{},
			fmt.Sprintf("[%s] %s/%s.vmdk", dsName, name, name))
		disk.CapacityInKB = int64(*fVMDisk) * 1024
		disk.CapacityInBytes = disk.CapacityInKB * 1024
		nic, err := devices.CreateEthernetCard("vmxnet3", backing)
		if err != nil {
			return nil, err
		}
		devices = append(devices, scsi, disk, nic)
		change, _ := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)

		spec := types.VirtualMachineConfigSpec{
			Name:         name,
			GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
			NumCPUs:      1,
			MemoryMB:     int64(*fVMMemory),
			Files:        &types.VirtualMachineFileInfo{VmPathName: "[" + dsName + "]"},
			DeviceChange: change,
		}
		hostRef := h.Self
		res, err := methods.CreateVM_Task(ctx, c, &types.CreateVM_Task{
			This: dc.VmFolder, Config: spec, Pool: *pool, Host: &hostRef,
		})
		if err != nil {
			return nil, fmt.Errorf("create %s: %v", name, err)
		}
		r, err := taskResult(res.Returnval)
		if err != nil {
			return nil, fmt.Errorf("create %s: %v", name, err)
		}
		ref := r.(types.ManagedObjectReference)
		if !off[name] {
			pres, err := methods.PowerOnVM_Task(ctx, c, &types.PowerOnVM_Task{This: ref})
			if err != nil {
				return nil, fmt.Errorf("power on %s: %v", name, err)
			}
			if _, err := taskResult(pres.Returnval); err != nil {
				return nil, fmt.Errorf("power on %s: %v", name, err)
			}
		}
		vms[name] = simulator.Map.Get(ref).(*simulator.VirtualMachine)
	}
	for name := range nics {
		vmByName(vms, name, "vm-nic")
	}
	for name := range off {
		vmByName(vms, name, "powered-off")
	}
	return vms, nil
}

// The provisioning checker govmomi lacks: CheckRelocate_Task and
// QueryVMotionCompatibilityEx_Task, each a task whose result is an
// ArrayOfCheckResult.  The simulator dispatches "X_Task" to method "XTask".

type provChecker struct {
	mo.VirtualMachineProvisioningChecker
	errs, warns map[string]string
}

func (p *provChecker) result(vm *simulator.VirtualMachine, host *types.ManagedObjectReference) types.CheckResult {
	r := types.CheckResult{Vm: &vm.Self, Host: host}
	if r.Host == nil {
		r.Host = vm.Runtime.Host
	}
	if msg, ok := p.errs[vm.Name]; ok {
		r.Error = append(r.Error, types.LocalizedMethodFault{Fault: &types.MigrationFault{}, LocalizedMessage: msg})
	}
	if msg, ok := p.warns[vm.Name]; ok {
		r.Warning = append(r.Warning, types.LocalizedMethodFault{Fault: &types.MigrationFault{}, LocalizedMessage: msg})
	}
	return r
}

func notFound(ref types.ManagedObjectReference) *soap.Fault {
	return simulator.Fault(fmt.Sprintf("managed object not found: %s", ref), &types.ManagedObjectNotFound{Obj: ref})
}

func (p *provChecker) CheckRelocateTask(ctx *simulator.Context, req *types.CheckRelocate_Task) soap.HasFault {
	body := new(methods.CheckRelocate_TaskBody)
	vm, ok := simulator.Map.Get(req.Vm).(*simulator.VirtualMachine)
	if !ok {
		body.Fault_ = notFound(req.Vm)
		return body
	}
	if req.Spec.Host != nil {
		if _, ok := simulator.Map.Get(*req.Spec.Host).(*simulator.HostSystem); !ok {
			body.Fault_ = notFound(*req.Spec.Host)
			return body
		}
	}
	task := simulator.CreateTask(p, "checkRelocate", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return types.ArrayOfCheckResult{CheckResult: []types.CheckResult{p.result(vm, req.Spec.Host)}}, nil
	})
	body.Res = &types.CheckRelocate_TaskResponse{Returnval: task.Run()}
	return body
}

func (p *provChecker) QueryVMotionCompatibilityExTask(ctx *simulator.Context, req *types.QueryVMotionCompatibilityEx_Task) soap.HasFault {
	body := new(methods.QueryVMotionCompatibilityEx_TaskBody)
	var vms []*simulator.VirtualMachine
	for _, ref := range req.Vm {
		vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
		if !ok {
			body.Fault_ = notFound(ref)
			return body
		}
		vms = append(vms, vm)
	}
	for _, ref := range req.Host {
		if _, ok := simulator.Map.Get(ref).(*simulator.HostSystem); !ok {
			body.Fault_ = notFound(ref)
			return body
		}
	}
	task := simulator.CreateTask(p, "queryVMotionCompatibilityEx", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		var res types.ArrayOfCheckResult
		for _, vm := range vms {
			for i := range req.Host {
				res.CheckResult = append(res.CheckResult, p.result(vm, &req.Host[i]))
			}
		}
		return res, nil
	})
	body.Res = &types.QueryVMotionCompatibilityEx_TaskResponse{Returnval: task.Run()}
	return body
}

func installChecker(vms map[string]*simulator.VirtualMachine) {
	p := &provChecker{errs: fCheckerError.pairs("checker-error"), warns: fCheckerWarning.pairs("checker-warning")}
	for name := range p.errs {
		vmByName(vms, name, "checker-error")
	}
	for name := range p.warns {
		vmByName(vms, name, "checker-warning")
	}
	p.Self = *model.ServiceContent.VmProvisioningChecker
	simulator.Map.Put(p) // replaces the method-less object of that reference
}

// TLS.

func certificate() tls.Certificate {
	if *fCert != "" {
		cert, err := tls.LoadX509KeyPair(*fCert, *fKey)
		if err != nil {
			die("-cert: %v", err)
		}
		return cert
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		die("key: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	cn := "vcsim"
	dns := []string{"localhost"}
	if *fVCHostname != "" {
		cn = *fVCHostname
		dns = append(dns, *fVCHostname)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Ferry test vCenter"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              dns,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		die("certificate: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func thumbprint(sum []byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func writeAtomic(path string, data []byte) error {
	tmp, err := ioutil.TempFile(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return err
	}
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Close()
	} else {
		_ = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// The HTTP front: the simulator's own handlers behind session checks and the
// fault knobs.  govmomi's NewServer() starts its server before a caller could
// wrap the handler, so that server is closed and its ServeMux served here.

type front struct {
	mux         *http.ServeMux
	count       int64
	sessionless map[string]bool
	malformed   map[string]bool
}

// soapMethod returns the local name of the first element inside the SOAP Body.
func soapMethod(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

const faultNotAuthenticated = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The session is not authenticated.</faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="PropertyCollector">propertyCollector</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`

const probeCurrentSession = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet></RetrieveProperties></soapenv:Body></soapenv:Envelope>`

// loggedIn asks the simulator itself whether the request's cookie names a
// live session: currentSession is set only then.
func (f *front) loggedIn(r *http.Request) bool {
	if _, err := r.Cookie(soap.SessionCookieName); err != nil {
		return false
	}
	p := httptest.NewRequest(http.MethodPost, r.URL.Path, strings.NewReader(probeCurrentSession))
	p.RemoteAddr = r.RemoteAddr
	p.Header.Set("Cookie", r.Header.Get("Cookie"))
	p.Header.Set("User-Agent", r.UserAgent())
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, p)
	return rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "<name>currentSession</name>")
}

func (f *front) stall(w http.ResponseWriter, r *http.Request) {
	if *fStallMode == "close" {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	<-r.Context().Done() // the client gave up; the process ending also ends this
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/sdk") {
		f.mux.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(io.LimitReader(r.Body, maxSOAPBody+1))
	_ = r.Body.Close()
	if err != nil || len(body) > maxSOAPBody {
		http.Error(w, "request too large or unreadable", http.StatusBadRequest)
		return
	}
	method := soapMethod(body)
	n := atomic.AddInt64(&f.count, 1)
	if *fStallAfter >= 0 && n > int64(*fStallAfter) && (*fStallMethod == "" || *fStallMethod == method) {
		f.stall(w, r)
		return
	}
	if f.sessionless[method] && !*fAnonReads && !f.loggedIn(r) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, faultNotAuthenticated)
		return
	}
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if f.malformed[method] {
		out = out[:len(out)/2] // cut mid-document: the envelope never closes
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

func serve() {
	cert := certificate()
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}

	svc := model.Service
	if *fUser != "" {
		svc.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(*fUser, *fPassword)}
	} else {
		svc.Listen = &url.URL{Host: "127.0.0.1:0"}
	}
	svc.TLS = tlsConfig.Clone()
	inner := svc.NewServer()
	innerHost := inner.URL.Host
	inner.Close()

	ln, err := net.Listen("tcp", *fListen)
	if err != nil {
		die("listen %s: %v", *fListen, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ip := addr.IP
	if ip.IsUnspecified() {
		ip = net.ParseIP("127.0.0.1")
	}
	host := net.JoinHostPort(ip.String(), strconv.Itoa(addr.Port))

	// Point what NewServer() recorded at the real address.
	svc.Listen.Host = host
	simulator.Map.SessionManager().ServiceHostName = host
	for _, o := range simulator.Map.OptionManager().Setting {
		ov := o.GetOptionValue()
		if s, ok := ov.Value.(string); ok && strings.Contains(s, innerHost) {
			ov.Value = strings.Replace(s, innerHost, host, -1)
		}
	}

	f := &front{
		mux: svc.ServeMux,
		sessionless: map[string]bool{
			"RetrieveProperties": true, "RetrievePropertiesEx": true, "Fetch": true,
		},
		malformed: fMalformed.set(),
	}
	srv := &http.Server{
		Handler:      f,
		TLSConfig:    tlsConfig,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only, as vCenter
	}
	go func() {
		err := srv.Serve(tls.NewListener(ln, tlsConfig))
		die("serve: %v", err)
	}()

	leaf := cert.Certificate[0]
	s1, s256 := sha1.Sum(leaf), sha256.Sum256(leaf)
	if *fCertOut != "" {
		if err := writeAtomic(*fCertOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf})); err != nil {
			die("-cert-out: %v", err)
		}
	}
	line, _ := json.Marshal(struct {
		URL          string `json:"url"`
		SHA1         string `json:"thumbprint_sha1"`
		SHA256       string `json:"thumbprint_sha256"`
		InstanceUUID string `json:"instance_uuid"`
		PID          int    `json:"pid"`
	}{"https://" + host + "/sdk", thumbprint(s1[:]), thumbprint(s256[:]),
		model.ServiceContent.About.InstanceUuid, os.Getpid()})
	line = append(line, '\n')
	if *fReady != "" {
		if err := writeAtomic(*fReady, line); err != nil {
			die("-ready: %v", err)
		}
	}
	_, _ = os.Stdout.Write(line)
	select {}
}
