package dev.lockstep.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.MediaType;

/**
 * Writes a problem+json body straight to a servlet response, for the places
 * that answer before Spring MVC does.
 */
final class ProblemDetailWriter {

	private ProblemDetailWriter() {
	}

	static void write(HttpServletResponse response, ProblemType type, String detail) throws IOException {
		response.setStatus(type.status().value());
		response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
		response.getOutputStream().write(json(type, detail).getBytes(StandardCharsets.UTF_8));
	}

	static String json(ProblemType type, String detail) {
		return "{\"type\":\"" + type.type() + "\",\"title\":\"" + type.title() + "\",\"status\":"
				+ type.status().value() + ",\"detail\":\"" + detail.replace("\\", "\\\\").replace("\"", "\\\"")
				+ "\"}";
	}

}
