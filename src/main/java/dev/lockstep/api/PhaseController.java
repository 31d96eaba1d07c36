package dev.lockstep.api;

import dev.lockstep.pair.PairProperties;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ReplicationCoordinator;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The phases of a checkpoint with the workload paused, on this node: pause every started
 * participant, then checkpoint as often as needed, then resume. A pair orchestrator calls
 * them on both nodes.
 */
@RestController
@RequestMapping(path = "/api/v1/replication", produces = MediaType.APPLICATION_JSON_VALUE)
@Tag(name = "replication")
@SecurityRequirement(name = OpenApiConfiguration.BEARER)
class PhaseController {

	private final ReplicationCoordinator coordinator;

	private final PairProperties pair;

	private final OperationRequests requests;

	PhaseController(ReplicationCoordinator coordinator, PairProperties pair, OperationRequests requests) {
		this.coordinator = coordinator;
		this.pair = pair;
		this.requests = requests;
	}

	@PostMapping("/pause")
	@Operation(summary = "Pause the workload of every started participant in ascending order",
			description = "All pauses together must fit in lockstep.pair.max-pause (2s by default): past it, or when "
					+ "a participant fails to pause, every participant paused so far is resumed at once and the "
					+ "answer names the participant that held the pause up. Checkpoints may be taken while paused. "
					+ "A workload still paused max-pause after its pause started is resumed by the coordinator "
					+ "itself, and a stop resumes first. Needs running replication; no request body.")
	@ApiProblems.Lifecycle
	ResponseEntity<OperationReport> pause(HttpServletRequest http) {
		String caller = Callers.of(http);
		return this.requests.run(http, "pause", () -> this.coordinator.pause(this.pair.maxPause(), caller));
	}

	@PostMapping("/resume")
	@Operation(summary = "Resume the workload of every paused participant in descending order",
			description = "Goes on through failures; the pause is over afterwards either way, and the report "
					+ "records how long the workload was paused (pausedMillis). Resuming when nothing is paused is "
					+ "a no-op. No request body.")
	@ApiProblems.Lifecycle
	ResponseEntity<OperationReport> resume(HttpServletRequest http) {
		String caller = Callers.of(http);
		return this.requests.run(http, "resume", () -> this.coordinator.resume(caller));
	}

}
