/*
 * fed.gsoap.h - the Ferry federation API, the one header gSOAP's soapcpp2
 * turns into the server skeleton, the client stubs and ferry.wsdl.
 * Every call but fy:Join and fy:IssueToken carries a token in the SOAP
 * header (fy:Token), minted by the callee's token service.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
//gsoap fy service name:        Ferry
//gsoap fy service namespace:   urn:ferry:federation:1
//gsoap fy service location:    https://ferry.invalid:7443/fed
//gsoap fy service style:       document
//gsoap fy service encoding:    literal
//gsoap fy schema namespace:    urn:ferry:federation:1
//gsoap fy schema form:         qualified

//gsoap fy service method-documentation: Hello Identity, software and protocol version, capabilities and clock of the callee.
//gsoap fy service method-documentation: IssueToken Token service: a short-lived token bound to the caller's TLS certificate.
//gsoap fy service method-documentation: Join Pairing handshake: proves knowledge of a one-time invite secret, bound to this TLS session.
//gsoap fy service method-documentation: Unpair The caller removes the pairing; the callee forgets it too.
//gsoap fy service method-documentation: Rotate The caller announces its next key, signed by its current one.
//gsoap fy service method-documentation: MigPrepare Destination of a migration job: check the VM spec (JSON, see ferry-vm(5)) against this site, create the disks and start the VM paused, waiting for its state.
//gsoap fy service method-documentation: MigFinish Destination: the source has sent everything; check the state arrived (and, when given, that the memory digest matches) and resume the VM here.
//gsoap fy service method-documentation: MigAbort Destination: the job failed or was cancelled before Finish; remove the incoming VM.
//gsoap fy service method-documentation: MigQuery The phase and outcome of a job at the callee, to recover after a restart.
//gsoap fy service method-documentation: SiteFacts Pre-flight: what the callee's management domain reports (versions, networks, datastores with free space, its VM inventory), as the facts JSON of ferry-findings(7), gathered with the callee's own credentials.

struct SOAP_ENV__Header {
	char *fy__Token;	/* mustUnderstand not required: checked by every handler */
};

struct fy__HelloResponse {
	char *site;
	char *fingerprint;
	char *software;
	int protocol;
	char *capabilities;
	LONG64 clockMs;
};
int fy__Hello(char *site, LONG64 clockMs, struct fy__HelloResponse *out);

struct fy__IssueTokenResponse {
	char *token;
	LONG64 notAfterMs;
};
int fy__IssueToken(char *audience, char *scope, struct fy__IssueTokenResponse *out);

struct fy__JoinResponse {
	char *site;
	char *endpoint;
	char *proof;
};
int fy__Join(char *inviteId, char *secret, char *proof, char *site, char *endpoint,
    struct fy__JoinResponse *out);

struct fy__UnpairResponse {
	char *site;
};
int fy__Unpair(char *reason, struct fy__UnpairResponse *out);

struct fy__RotateResponse {
	char *site;
	LONG64 overlapUntilMs;
};
int fy__Rotate(char *certificate, char *signature, LONG64 clockMs, struct fy__RotateResponse *out);

struct fy__MigPrepareResponse {
	char *vm;
	char *uuid;
};
int fy__MigPrepare(char *job, char *spec, char *options, struct fy__MigPrepareResponse *out);

struct fy__MigFinishResponse {
	char *outcome;
	char *memoryDigest;
	LONG64 resumedMs;
};
int fy__MigFinish(char *job, char *memoryDigest, struct fy__MigFinishResponse *out);

struct fy__MigAbortResponse {
	char *outcome;
};
int fy__MigAbort(char *job, char *reason, struct fy__MigAbortResponse *out);

struct fy__MigQueryResponse {
	char *phase;
	char *outcome;
	char *error;
	LONG64 firstLineMs;
	LONG64 resumedMs;
};
int fy__MigQuery(char *job, struct fy__MigQueryResponse *out);

struct fy__SiteFactsResponse {
	char *facts;		/* JSON, ferry-findings(7) FACTS */
};
int fy__SiteFacts(char *scope, struct fy__SiteFactsResponse *out);
