package dev.lockstep.api;

import java.util.List;

import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ParticipantStatus;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationStatus;
import dev.lockstep.replication.StartOptions;
import dev.lockstep.replication.SweepResult;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * The lifecycle API: runs start, checkpoint and stop across every participant, and
 * answers status, error and history queries.
 */
@RestController
@RequestMapping(path = "/api/v1/replication", produces = MediaType.APPLICATION_JSON_VALUE)
@Tag(name = "replication", description = "Drive the replication lifecycle across every participant")
@SecurityRequirement(name = OpenApiConfiguration.BEARER)
class ReplicationController {

	private final ReplicationCoordinator coordinator;

	private final OperationRequests requests;

	ReplicationController(ReplicationCoordinator coordinator, OperationRequests requests) {
		this.coordinator = coordinator;
		this.requests = requests;
	}

	@GetMapping
	@Operation(summary = "Show the lifecycle state, the participants and the last operation")
	@ApiProblems.Query
	ReplicationStatus status() {
		return this.coordinator.status();
	}

	@PostMapping(path = "/start", consumes = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Start every participant in ascending order",
			description = "Fails fast: participants after a failing one are not called, and those already started "
					+ "are stopped again in reverse order. Starting again in the running mode is a no-op. "
					+ "{\"mode\":\"secondary\",\"discardLocalChanges\":true} lets the primary overwrite this "
					+ "node's own changes, the way out of a split brain (docs/replication.md).")
	@ApiProblems.Lifecycle
	ResponseEntity<OperationReport> start(@Valid @RequestBody StartRequest request, HttpServletRequest http) {
		if (request.discards() && request.mode() != ReplicationMode.SECONDARY) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
					"'discardLocalChanges' applies only to a secondary, whose own changes the primary then "
							+ "overwrites; send it with {\"mode\":\"secondary\"} on the node whose changes are "
							+ "discarded, and start the other node as primary without it");
		}
		String caller = Callers.of(http);
		return this.requests.run(http,
				"start " + request.mode().value() + (request.discards() ? " discarding local changes" : ""),
				() -> this.coordinator.start(request.mode(), new StartOptions(request.discards()), caller));
	}

	@PostMapping("/checkpoint")
	@Operation(summary = "Take a checkpoint on every started participant in ascending order",
			description = "Fails fast; replication stays running after a failed checkpoint. No request body.")
	@ApiProblems.Lifecycle
	ResponseEntity<OperationReport> checkpoint(HttpServletRequest http) {
		String caller = Callers.of(http);
		return this.requests.run(http, "checkpoint", () -> this.coordinator.checkpoint(caller));
	}

	@PostMapping(path = "/stop", consumes = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Stop every started participant in descending order",
			description = "Goes on through failures so that a failover gets as far as it can; if any participant "
					+ "could not be stopped the state becomes FAILED and a repeated stop retries only those. "
					+ "Stopping while idle is a no-op. With lockstep.pair.peer-api set, a failover on a node running as "
					+ "secondary first asks the peer whether it still runs as primary, and is refused (409 "
					+ "failover-refused) if it does; {\"failover\":true,\"force\":true} skips that check.")
	@ApiProblems.Lifecycle
	ResponseEntity<OperationReport> stop(@Valid @RequestBody StopRequest request, HttpServletRequest http) {
		if (request.forced() && !request.failover()) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
					"'force' applies only to a failover, whose check of the peer it skips; send "
							+ "{\"failover\":true,\"force\":true}, or leave 'force' out of a planned stop");
		}
		String caller = Callers.of(http);
		String fingerprint = request.forced() ? "forced failover stop"
				: (request.failover() ? "failover stop" : "planned stop");
		return this.requests.run(http, fingerprint, () -> request.forced() ? this.coordinator.stop(true, true, caller)
				: this.coordinator.stop(request.failover(), caller));
	}

	@GetMapping("/errors")
	@Operation(summary = "Ask every participant for its current error",
			description = "Every participant is asked, in parallel and under a deadline; a result may be reused "
					+ "for lockstep.coordinator.error-cache-ttl.")
	@ApiProblems.Query
	SweepResult errors() {
		return this.coordinator.errorSweep().sweep();
	}

	@GetMapping("/participants")
	@Operation(summary = "List the participants in ascending order")
	@ApiProblems.Query
	List<ParticipantStatus> participants() {
		return this.coordinator.status().participants();
	}

	@GetMapping("/operations")
	@Operation(summary = "List recent operation reports, newest first")
	@ApiProblems.BadRequest
	List<OperationReport> operations(@Parameter(description = "How many reports to return, 1 to 100") @RequestParam(
			defaultValue = "20") @Min(1) @Max(100) int limit) {
		return this.coordinator.operations(limit);
	}

	@GetMapping("/operations/{id}")
	@Operation(summary = "Show one operation report",
			description = "While the operation runs, the report so far: outcome `running`, one step per participant "
					+ "call that has ended. A start's synchronisation progress is in each disk's `sync` in "
					+ "GET /api/v1/replication.")
	@ApiProblems.NotFound
	OperationReport operation(@PathVariable String id) {
		return this.coordinator.operation(id)
			.orElseThrow(() -> new NotFoundException("No operation with id '" + id
					+ "' is kept; only the last reports are kept, see GET /api/v1/replication/operations"));
	}

}
