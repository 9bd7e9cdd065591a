/*
 * vim25.gsoap.h - the part of VMware's vSphere Web Services API (vim25)
 * that Ferry calls, written by hand for soapcpp2 (the full WSDL makes a
 * soapC.c gcc cannot compile: ../shared notes/vsphere.md).  Client side,
 * SOAP 1.1, document/literal.
 *
 * It is a gSOAP module (#module) with its own file prefix (-pvim) and
 * namespace table (vim_namespaces, soapcpp2 -n): the SOAP Header and Fault
 * serializers, which a program may define only once, come from the
 * federation's generated code (gateway/soapC.c) that every Ferry binary
 * links; the built-in serializers this module shares with it (string,
 * byte, QName) are renamed at build time (gateway/local.mk: vim-names.h).
 *
 * Property values, task results and fault details are xsd__anyType (DOM):
 * their xsi:type is read by namespace URI (govmomi writes
 * XMLSchema-instance:type), never by prefix.  Element order follows the
 * vim25 schema: vCenter checks it.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#module "vim"
#import "dom.h"

//gsoap vim service name:		vim25
//gsoap vim service namespace:	urn:vim25
//gsoap vim service style:		document
//gsoap vim service encoding:	literal
//gsoap vim schema namespace:	urn:vim25
//gsoap vim schema form:		qualified
//gsoap vim schema attributeForm:	unqualified

/* ---- data objects ---- */

enum xsd__boolean { false_, true_ };

struct vim__ManagedObjectReference {
	@char *type;			/* required, unqualified */
	char *__item;
};
typedef struct vim__ManagedObjectReference vim__MoRef;

struct vim__AboutInfo {
	char *name;
	char *fullName;
	char *vendor;
	char *version;
	char *build;
	char *localeVersion 0;
	char *localeBuild 0;
	char *osType;
	char *productLineId;
	char *apiType;
	char *apiVersion;
	char *instanceUuid 0;
	char *licenseProductName 0;
	char *licenseProductVersion 0;
};

struct vim__ServiceContent {
	struct vim__ManagedObjectReference rootFolder;
	struct vim__ManagedObjectReference propertyCollector;
	struct vim__ManagedObjectReference *viewManager 0;
	struct vim__AboutInfo about;
	struct vim__ManagedObjectReference *setting 0;
	struct vim__ManagedObjectReference *sessionManager 0;
	struct vim__ManagedObjectReference *vmProvisioningChecker 0;
	/* the other members are skipped on reading */
};

struct vim__UserSession {
	char *key;
	char *userName;
	char *fullName 0;
};

/* SelectionSpec is abstract in the schema: the one Ferry sends is a
   TraversalSpec, named by xsi:type (the xsi__type attribute). */
struct vim__TraversalSpec {
	@char *xsi__type;		/* "vim:TraversalSpec" */
	char *name 0;
	char *type;
	char *path;
	enum xsd__boolean *skip 0;
};

struct vim__PropertySpec {
	char *type;
	enum xsd__boolean *all 0;
	int __sizepathSet;
	char **pathSet 0;
};

struct vim__ObjectSpec {
	struct vim__ManagedObjectReference obj;
	enum xsd__boolean *skip 0;
	int __sizeselectSet;
	struct vim__TraversalSpec *selectSet 0;
};

struct vim__PropertyFilterSpec {
	int __sizepropSet;
	struct vim__PropertySpec *propSet 1;
	int __sizeobjectSet;
	struct vim__ObjectSpec *objectSet 1;
	enum xsd__boolean *reportMissingObjectsInResults 0;
};

struct vim__RetrieveOptions {
	int *maxObjects 0;
};

struct vim__DynamicProperty {
	char *name;
	xsd__anyType val;		/* DOM: kept with its xsi:type */
};

struct vim__MissingProperty {
	char *path;
	xsd__anyType fault;		/* LocalizedMethodFault */
};

struct vim__ObjectContent {
	struct vim__ManagedObjectReference obj;
	int __sizepropSet;
	struct vim__DynamicProperty *propSet 0;
	int __sizemissingSet;
	struct vim__MissingProperty *missingSet 0;
};

struct vim__RetrieveResult {
	char *token 0;
	int __sizeobjects;
	struct vim__ObjectContent *objects 0;
};

/* VirtualMachineRelocateSpec, the members a check needs, in schema order. */
struct vim__VirtualMachineRelocateSpec {
	struct vim__ManagedObjectReference *folder 0;
	struct vim__ManagedObjectReference *datastore 0;
	struct vim__ManagedObjectReference *pool 0;
	struct vim__ManagedObjectReference *host 0;
};

/* ---- operations (vim__Op, _this is written _USCOREthis) ---- */

struct vim__RetrieveServiceContentResponse {
	struct vim__ServiceContent *returnval;
};
int vim__RetrieveServiceContent(struct vim__ManagedObjectReference *_USCOREthis,
    struct vim__RetrieveServiceContentResponse *out);

struct vim__LoginResponse {
	struct vim__UserSession *returnval;
};
int vim__Login(struct vim__ManagedObjectReference *_USCOREthis, char *userName, char *password,
    char *locale 0, struct vim__LoginResponse *out);

struct vim__LogoutResponse {
	char *__dummy 0;
};
int vim__Logout(struct vim__ManagedObjectReference *_USCOREthis, struct vim__LogoutResponse *out);

struct vim__CreateContainerViewResponse {
	struct vim__ManagedObjectReference *returnval;
};
int vim__CreateContainerView(struct vim__ManagedObjectReference *_USCOREthis,
    struct vim__ManagedObjectReference *container, int __sizetype, char **type,
    enum xsd__boolean recursive, struct vim__CreateContainerViewResponse *out);

struct vim__DestroyViewResponse {
	char *__dummy 0;
};
int vim__DestroyView(struct vim__ManagedObjectReference *_USCOREthis, struct vim__DestroyViewResponse *out);

struct vim__RetrievePropertiesExResponse {
	struct vim__RetrieveResult *returnval 0;	/* absent: nothing matched */
};
int vim__RetrievePropertiesEx(struct vim__ManagedObjectReference *_USCOREthis, int __sizespecSet,
    struct vim__PropertyFilterSpec *specSet, struct vim__RetrieveOptions *options,
    struct vim__RetrievePropertiesExResponse *out);

struct vim__ContinueRetrievePropertiesExResponse {
	struct vim__RetrieveResult *returnval;
};
int vim__ContinueRetrievePropertiesEx(struct vim__ManagedObjectReference *_USCOREthis, char *token,
    struct vim__ContinueRetrievePropertiesExResponse *out);

struct vim__CheckRelocate_USCORETaskResponse {
	struct vim__ManagedObjectReference *returnval;
};
int vim__CheckRelocate_USCORETask(struct vim__ManagedObjectReference *_USCOREthis,
    struct vim__ManagedObjectReference *vm, struct vim__VirtualMachineRelocateSpec *spec,
    int __sizetestType, char **testType 0, struct vim__CheckRelocate_USCORETaskResponse *out);

struct vim__QueryVMotionCompatibilityEx_USCORETaskResponse {
	struct vim__ManagedObjectReference *returnval;
};
int vim__QueryVMotionCompatibilityEx_USCORETask(struct vim__ManagedObjectReference *_USCOREthis,
    int __sizevm, struct vim__ManagedObjectReference *vm, int __sizehost,
    struct vim__ManagedObjectReference *host, struct vim__QueryVMotionCompatibilityEx_USCORETaskResponse *out);
