package dev.lockstep.api;

import java.util.List;
import java.util.Optional;

import dev.lockstep.block.Disk;
import dev.lockstep.block.DiskEngine;
import dev.lockstep.block.replicated.BlockReplicationParticipant;
import dev.lockstep.block.replicated.DiskReplicationStatus;
import dev.lockstep.block.replicated.primary.VerifyRefusedException;
import dev.lockstep.block.replicated.primary.VerifyStatus;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.util.UriComponentsBuilder;

/**
 * Lists the disks served over NBD and starts online verifies of replicated ones. With the
 * disk engine switched off the list is empty.
 */
@RestController
@RequestMapping(path = "/api/v1/disks", produces = MediaType.APPLICATION_JSON_VALUE)
@Tag(name = "disks", description = "The disks served over NBD")
@SecurityRequirement(name = OpenApiConfiguration.BEARER)
class DiskController {

	private final ObjectProvider<DiskEngine> engine;

	private final ObjectProvider<BlockReplicationParticipant> replication;

	DiskController(ObjectProvider<DiskEngine> engine, ObjectProvider<BlockReplicationParticipant> replication) {
		this.engine = engine;
		this.replication = replication;
	}

	@GetMapping
	@Operation(summary = "List the disks with their export URLs, clients and counters")
	@ApiProblems.Query
	List<DiskView> disks() {
		DiskEngine diskEngine = this.engine.getIfAvailable();
		if (diskEngine == null) {
			return List.of();
		}
		return diskEngine.disks().stream().map((disk) -> view(diskEngine, disk)).toList();
	}

	@GetMapping("/{name}")
	@Operation(summary = "Show one disk, with its last or running verify")
	@ApiProblems.NotFound
	DiskView disk(@PathVariable String name) {
		DiskEngine diskEngine = this.engine.getIfAvailable();
		return view(diskEngine, find(diskEngine, name));
	}

	@PostMapping("/{name}/verify")
	@Operation(summary = "Verify a replicated disk against the secondary's, in the background",
			description = "On the disk's running primary: compares every 1 MiB chunk with the secondary's by "
					+ "SHA-256 while clients go on writing, and marks each chunk that differs for the next "
					+ "synchronisation; with `{\"repair\":true}` it also copies it to the secondary. Without a body "
					+ "`repair` is false. Progress and result are under `verify` in GET /api/v1/disks/{name}.")
	@ApiProblems.Verify
	ResponseEntity<VerifyStatus> verify(@PathVariable String name,
			@RequestBody(required = false) @Nullable VerifyRequest request) {
		find(this.engine.getIfAvailable(), name);
		BlockReplicationParticipant participant = this.replication.getIfAvailable();
		if (participant == null) {
			throw new VerifyRefusedException(
					"Disk '" + name + "' is not replicated: block replication is not " + "running on this node");
		}
		VerifyStatus status = participant.verify(name, request != null && request.repairs());
		return ResponseEntity.accepted()
			.location(UriComponentsBuilder.fromPath("/api/v1/disks/{name}").buildAndExpand(name).encode().toUri())
			.body(status);
	}

	@ExceptionHandler
	ResponseEntity<Object> verifyRefused(VerifyRefusedException ex, HttpServletRequest request) {
		return ApiExceptionHandler.respond(
				ApiExceptionHandler.problem(ProblemType.VERIFY_REFUSED, ex.getMessage(), request),
				ProblemType.VERIFY_REFUSED);
	}

	private static Disk find(@Nullable DiskEngine diskEngine, String name) {
		Optional<Disk> disk = (diskEngine != null) ? diskEngine.disk(name) : Optional.empty();
		if (disk.isEmpty()) {
			throw new NotFoundException("No disk named '" + name + "'; see GET /api/v1/disks");
		}
		return disk.get();
	}

	private DiskView view(@Nullable DiskEngine diskEngine, Disk disk) {
		String url = (diskEngine != null) ? diskEngine.exportUrl(disk.name()) : "";
		BlockReplicationParticipant participant = this.replication.getIfAvailable();
		VerifyStatus verify = (participant != null) ? participant.status()
			.disks()
			.stream()
			.filter((candidate) -> candidate.disk().equals(disk.name()))
			.findFirst()
			.map(DiskReplicationStatus::verify)
			.orElse(null) : null;
		return DiskView.of(disk, url, verify);
	}

}
