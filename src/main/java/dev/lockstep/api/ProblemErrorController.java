package dev.lockstep.api;

import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;

import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Answers errors that happen outside the controllers (for example a request the servlet
 * container rejects) with problem+json instead of Spring Boot's default error page, and
 * without exception details.
 */
@RestController
@Hidden
class ProblemErrorController implements ErrorController {

	@RequestMapping("${server.error.path:/error}")
	ResponseEntity<Object> error(HttpServletRequest request) {
		Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
		// Without a status the path was requested directly: there is nothing there.
		ProblemType type = ProblemType.forStatus(code instanceof Integer status ? status : 404);
		String detail = type.status().is4xxClientError()
				? "The request was rejected: " + type.status().getReasonPhrase()
				: "The request could not be completed because of an internal error";
		ProblemDetail problem = ApiExceptionHandler.problem(type, detail, request);
		Object uri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
		problem.setInstance((uri instanceof String path) ? ApiExceptionHandler.instance(path) : null);
		return ApiExceptionHandler.respond(problem, type);
	}

}
