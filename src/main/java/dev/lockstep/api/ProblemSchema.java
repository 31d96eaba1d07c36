package dev.lockstep.api;

import java.net.URI;

import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.Operation;
import dev.lockstep.replication.OperationReport;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * The shape of every error body, for the OpenAPI contract: an RFC 9457 problem with
 * Lockstep's extension members. Bodies are built as
 * {@link org.springframework.http.ProblemDetail}.
 *
 * @param type the problem type, a {@code urn:lockstep:problem:*} URN
 * @param title a short summary of the type
 * @param status the HTTP status
 * @param detail what happened and what to do about it
 * @param instance the request path
 * @param state the coordinator's state, on 409
 * @param runningOperation the operation in progress, on 409 when busy
 * @param participant the participant that failed, on 502 and 504
 * @param report the full operation report, on 502 and 504
 */
@Schema(name = "Problem", description = "An RFC 9457 problem (application/problem+json)")
record ProblemSchema(@Schema(requiredMode = Schema.RequiredMode.REQUIRED) URI type,
		@Schema(requiredMode = Schema.RequiredMode.REQUIRED) String title,
		@Schema(requiredMode = Schema.RequiredMode.REQUIRED) int status,
		@Schema(requiredMode = Schema.RequiredMode.REQUIRED) String detail, URI instance, CoordinatorState state,
		Operation runningOperation, String participant, OperationReport report) {
}
