package dev.lockstep.api;

import java.util.List;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.validation.annotation.Validated;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

import dev.lockstep.pair.PairNode;
import dev.lockstep.pair.PairOperations;
import dev.lockstep.pair.PairReport;
import dev.lockstep.pair.PairView;

/**
 * The pair API: drives both nodes with one call, on either node, through each node's own
 * lifecycle API (see {@link PairOperations}).
 */
@RestController
@RequestMapping(path = "/api/v1/pair", produces = MediaType.APPLICATION_JSON_VALUE)
@Tag(name = "pair", description = "Both nodes of a pair, driven with one call")
@Validated
class PairController {

	private final PairOperations pair;

	private final AsyncCalls<PairReport> calls;

	PairController(PairOperations pair, PairRequests requests) {
		this.pair = pair;
		this.calls = requests.calls();
	}

	@GetMapping
	@Operation(operationId = "pairStatus", summary = "Show both nodes side by side",
			description = "Roles, states, the peer's reachability, and whether the disks are in sync.")
	@ApiProblems.Query
	@ApiResponse(responseCode = "409", description = "No peer is configured (`pair-not-configured`)",
			content = @Content(mediaType = ApiProblems.PROBLEM_JSON,
					schema = @Schema(implementation = ProblemSchema.class)))
	PairView status() {
		return this.pair.status();
	}

	@PostMapping(path = "/start", consumes = MediaType.APPLICATION_JSON_VALUE)
	@Operation(operationId = "pairStart", summary = "Start the pair: the secondary node, then the primary",
			description = "If the primary's start fails, the secondary is stopped again, so a failed pair start "
					+ "leaves both nodes idle.")
	@ApiProblems.Pair
	ResponseEntity<PairReport> start(@Valid @RequestBody PairStartRequest request, HttpServletRequest http) {
		PairNode primary = PairNode.of(request.primary());
		String caller = Callers.of(http);
		return this.calls.run(http, "pair start with " + primary.value() + " as primary",
				(started) -> this.pair.start(primary, caller, started));
	}

	@PostMapping("/checkpoint")
	@Operation(operationId = "pairCheckpoint", summary = "Checkpoint the pair: the primary, then the secondary",
			description = "The secondary is asked only if the primary's checkpoint succeeded. No request body.")
	@ApiProblems.Pair
	ResponseEntity<PairReport> checkpoint(HttpServletRequest http) {
		String caller = Callers.of(http);
		return this.calls.run(http, "pair checkpoint", (started) -> this.pair.checkpoint(caller, started));
	}

	@PostMapping("/switchover")
	@Operation(operationId = "pairSwitchover", summary = "Swap the roles of the two nodes without a synchronisation",
			description = "Checkpoints the pair, stops both nodes as planned, then starts the old primary as "
					+ "secondary and the old secondary as primary. Both disks are equal and stopped cleanly at the "
					+ "same data generation, so nothing is copied and nothing is hashed. NBD clients must reconnect "
					+ "to the new primary. No request body.")
	@ApiProblems.Pair
	ResponseEntity<PairReport> switchover(HttpServletRequest http) {
		String caller = Callers.of(http);
		return this.calls.run(http, "pair switchover", (started) -> this.pair.switchover(caller, started));
	}

	@GetMapping("/operations")
	@Operation(operationId = "pairOperations", summary = "List recent pair reports, newest first",
			description = "Those this node ran and the copies the peer sent of its own.")
	@ApiProblems.BadRequest
	List<PairReport> operations(@Parameter(description = "How many reports to return, 1 to 100") @RequestParam(
			defaultValue = "20") @Min(1) @Max(100) int limit) {
		return this.pair.reports(limit);
	}

	@GetMapping("/operations/{id}")
	@Operation(operationId = "pairOperation", summary = "Show one pair report, from either node")
	@ApiProblems.NotFound
	PairReport operation(@PathVariable String id) {
		return this.pair.report(id)
			.orElseThrow(() -> new NotFoundException("No pair operation with id '" + id
					+ "' is kept; only the last reports are kept, see GET /api/v1/pair/operations"));
	}

	@PutMapping(path = "/operations/{id}", consumes = MediaType.APPLICATION_JSON_VALUE)
	@Operation(operationId = "pairRecord", summary = "Keep the peer's copy of a pair report",
			description = "Called by the peer after each pair operation it ran, so that the report is findable on "
					+ "both nodes; the body is the report as this node sees it. Answers the report kept.")
	@ApiProblems.BadRequest
	PairReport record(@PathVariable String id, @RequestBody PairReport report) {
		if (!report.id().equals(id)) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
					"The report's id '" + report.id() + "' differs from the one in the path, '" + id + "'");
		}
		this.pair.recordFromPeer(report);
		return report;
	}

}
