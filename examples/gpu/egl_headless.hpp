// A headless desktop OpenGL 3.3 core context on EGL, for the gpu_gl example
// and tests/gpu/test_gpu_gl.cpp: libEGL.so.1 is opened with dlopen (nothing
// links EGL or GL), the display comes from the surfaceless platform
// (EGL_MESA_platform_surfaceless) or else the first EGL device
// (EGL_EXT_platform_device), and the context is made current without a
// surface (EGL_KHR_surfaceless_context). Also the work the programs time:
// clears of a color renderbuffer of a chosen size.
//
// Not part of the SDK: the SDK only asks for a get_proc_address.
#pragma once

#include <dlfcn.h>  // dlopen, dlsym

#include <EGL/egl.h>       // types and values only: every call goes through dlsym
#include <EGL/eglext.h>    // platform and device extensions
#include <GL/glcorearb.h>  // GL types, values and PFN* typedefs

#include <cstring>           // strstr
#include <initializer_list>  // target sizes
#include <string>            // problems

namespace egl_headless {

namespace detail {
// eglGetProcAddress, once libEGL is open: a plain function for
// GlContextInfo::get_proc_address.
inline PFNEGLGETPROCADDRESSPROC g_get_proc = nullptr;

inline bool has_extension(const char* list, const char* name) {
  if (list == nullptr) return false;
  const std::size_t n = std::strlen(name);
  for (const char* p = list; (p = std::strstr(p, name)) != nullptr; p += n) {
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return true;
  }
  return false;
}
}  // namespace detail

// A GL function's address through eglGetProcAddress (null before open()).
inline void* proc(const char* name) {
  if (detail::g_get_proc == nullptr) return nullptr;
  return reinterpret_cast<void*>(detail::g_get_proc(name));
}

template <class F>
bool load(const char* name, F& out) {
  out = reinterpret_cast<F>(proc(name));
  return out != nullptr;
}

// One context, current on the thread that opened it until destruction.
class Context {
 public:
  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  ~Context() {
    if (display_ == EGL_NO_DISPLAY) return;
    if (context_ != EGL_NO_CONTEXT) {
      make_current_(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      destroy_context_(display_, context_);
    }
    terminate_(display_);
    // libEGL stays loaded: Mesa's drivers register exit handlers.
  }

  // "" once a GL 3.3 core context is current on this thread, else why not.
  std::string open() {
    void* lib = dlopen("libEGL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return "libEGL.so.1 not found";
    detail::g_get_proc =
        reinterpret_cast<PFNEGLGETPROCADDRESSPROC>(dlsym(lib, "eglGetProcAddress"));
    if (detail::g_get_proc == nullptr) return "libEGL.so.1 has no eglGetProcAddress";
    PFNEGLQUERYSTRINGPROC query_string = nullptr;
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display = nullptr;
    PFNEGLINITIALIZEPROC initialize = nullptr;
    PFNEGLBINDAPIPROC bind_api = nullptr;
    PFNEGLCHOOSECONFIGPROC choose_config = nullptr;
    PFNEGLCREATECONTEXTPROC create_context = nullptr;
    PFNEGLGETERRORPROC get_error = nullptr;
    if (!load("eglQueryString", query_string) || !load("eglInitialize", initialize) ||
        !load("eglBindAPI", bind_api) || !load("eglChooseConfig", choose_config) ||
        !load("eglCreateContext", create_context) || !load("eglGetError", get_error) ||
        !load("eglMakeCurrent", make_current_) || !load("eglDestroyContext", destroy_context_) ||
        !load("eglTerminate", terminate_))
      return "libEGL.so.1 lacks an EGL 1.4 function";
    const char* client = query_string(EGL_NO_DISPLAY, EGL_EXTENSIONS);
    if (!detail::has_extension(client, "EGL_EXT_platform_base") ||
        !load("eglGetPlatformDisplayEXT", get_platform_display))
      return "EGL has no EGL_EXT_platform_base";
    if (detail::has_extension(client, "EGL_MESA_platform_surfaceless")) {
      display_ = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    }
    if (display_ == EGL_NO_DISPLAY && detail::has_extension(client, "EGL_EXT_platform_device")) {
      PFNEGLQUERYDEVICESEXTPROC query_devices = nullptr;
      EGLDeviceEXT device = nullptr;
      EGLint n = 0;
      if (load("eglQueryDevicesEXT", query_devices) && query_devices(1, &device, &n) && n > 0)
        display_ = get_platform_display(EGL_PLATFORM_DEVICE_EXT, device, nullptr);
    }
    if (display_ == EGL_NO_DISPLAY) return "no surfaceless or device EGL display";
    EGLint major = 0, minor = 0;
    if (!initialize(display_, &major, &minor)) {
      const std::string why = "eglInitialize failed: " + hex(get_error());
      display_ = EGL_NO_DISPLAY;
      return why;
    }
    if (!detail::has_extension(query_string(display_, EGL_EXTENSIONS),
                               "EGL_KHR_surfaceless_context"))
      return "the EGL display has no EGL_KHR_surfaceless_context";
    if (!bind_api(EGL_OPENGL_API)) return "eglBindAPI(EGL_OPENGL_API) failed";
    const EGLint config_attribs[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE, 0,
                                     EGL_NONE};
    EGLConfig config = nullptr;
    EGLint configs = 0;
    if (!choose_config(display_, config_attribs, &config, 1, &configs) || configs == 0) {
      if (!detail::has_extension(query_string(display_, EGL_EXTENSIONS),
                                 "EGL_KHR_no_config_context"))
        return "no EGL config renders desktop OpenGL";
      config = EGL_NO_CONFIG_KHR;
    }
    const EGLint context_attribs[] = {EGL_CONTEXT_MAJOR_VERSION,
                                      3,
                                      EGL_CONTEXT_MINOR_VERSION,
                                      3,
                                      EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                      EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                                      EGL_NONE};
    context_ = create_context(display_, config, EGL_NO_CONTEXT, context_attribs);
    if (context_ == EGL_NO_CONTEXT)
      return "no OpenGL 3.3 core context: eglCreateContext failed: " + hex(get_error());
    if (!make_current_(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, context_))
      return "eglMakeCurrent without a surface failed: " + hex(get_error());
    return {};
  }

 private:
  static std::string hex(EGLint e) {
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 12; shift >= 0; shift -= 4)
      s += digits[(static_cast<unsigned>(e) >> static_cast<unsigned>(shift)) & 0xfu];
    return s;
  }

  EGLDisplay display_ = EGL_NO_DISPLAY;
  EGLContext context_ = EGL_NO_CONTEXT;
  PFNEGLMAKECURRENTPROC make_current_ = nullptr;
  PFNEGLDESTROYCONTEXTPROC destroy_context_ = nullptr;
  PFNEGLTERMINATEPROC terminate_ = nullptr;
};

// Color renderbuffers (RGBA8) of chosen sizes, each behind a framebuffer:
// clearing one is work proportional to its size (llvmpipe spends its time
// clearing tiles; a buffer copy, done on the CPU as it is issued, would show
// no GPU time).
class ClearTargets {
 public:
  static constexpr int kMax = 4;

  // "" once a square target of each side (pixels) exists; with a context current.
  std::string open(std::initializer_list<int> sides) {
    if (!load("glGenFramebuffers", gen_framebuffers_) ||
        !load("glGenRenderbuffers", gen_renderbuffers_) ||
        !load("glBindFramebuffer", bind_framebuffer_) ||
        !load("glBindRenderbuffer", bind_renderbuffer_) ||
        !load("glRenderbufferStorage", renderbuffer_storage_) ||
        !load("glFramebufferRenderbuffer", framebuffer_renderbuffer_) ||
        !load("glCheckFramebufferStatus", check_framebuffer_status_) ||
        !load("glDeleteFramebuffers", delete_framebuffers_) ||
        !load("glDeleteRenderbuffers", delete_renderbuffers_) || !load("glViewport", viewport_) ||
        !load("glClearColor", clear_color_) || !load("glClear", clear_) ||
        !load("glFinish", finish_) || !load("glFlush", flush_))
      return "a GL 3.3 function is missing";
    for (int side : sides) {
      if (count_ == kMax) return "too many targets";
      GLuint fb = 0, rb = 0;
      gen_framebuffers_(1, &fb);
      gen_renderbuffers_(1, &rb);
      framebuffers_[count_] = fb;
      renderbuffers_[count_] = rb;
      sides_[count_++] = side;
      bind_renderbuffer_(GL_RENDERBUFFER, rb);
      renderbuffer_storage_(GL_RENDERBUFFER, GL_RGBA8, side, side);
      bind_framebuffer_(GL_FRAMEBUFFER, fb);
      framebuffer_renderbuffer_(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);
      if (check_framebuffer_status_(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE)
        return "a " + std::to_string(side) + "x" + std::to_string(side) +
               " RGBA8 framebuffer is incomplete";
    }
    return {};
  }

  ClearTargets() = default;
  ClearTargets(const ClearTargets&) = delete;
  ClearTargets& operator=(const ClearTargets&) = delete;
  ~ClearTargets() {
    if (count_ == 0) return;
    delete_framebuffers_(count_, framebuffers_);
    delete_renderbuffers_(count_, renderbuffers_);
  }

  // Clears target `i` to a color that changes with `shade`.
  void clear(int i, float shade) {
    bind_framebuffer_(GL_FRAMEBUFFER, framebuffers_[i]);
    viewport_(0, 0, sides_[i], sides_[i]);
    clear_color_(shade, 0.25f, 0.5f, 1.0f);
    clear_(GL_COLOR_BUFFER_BIT);
  }

  double mebibytes(int i) const { return 4.0 * sides_[i] * sides_[i] / (1024.0 * 1024.0); }
  void finish() { finish_(); }
  void flush() { flush_(); }

 private:
  int count_ = 0;
  GLuint framebuffers_[kMax] = {};
  GLuint renderbuffers_[kMax] = {};
  int sides_[kMax] = {};
  PFNGLGENFRAMEBUFFERSPROC gen_framebuffers_ = nullptr;
  PFNGLGENRENDERBUFFERSPROC gen_renderbuffers_ = nullptr;
  PFNGLBINDFRAMEBUFFERPROC bind_framebuffer_ = nullptr;
  PFNGLBINDRENDERBUFFERPROC bind_renderbuffer_ = nullptr;
  PFNGLRENDERBUFFERSTORAGEPROC renderbuffer_storage_ = nullptr;
  PFNGLFRAMEBUFFERRENDERBUFFERPROC framebuffer_renderbuffer_ = nullptr;
  PFNGLCHECKFRAMEBUFFERSTATUSPROC check_framebuffer_status_ = nullptr;
  PFNGLDELETEFRAMEBUFFERSPROC delete_framebuffers_ = nullptr;
  PFNGLDELETERENDERBUFFERSPROC delete_renderbuffers_ = nullptr;
  PFNGLVIEWPORTPROC viewport_ = nullptr;
  PFNGLCLEARCOLORPROC clear_color_ = nullptr;
  PFNGLCLEARPROC clear_ = nullptr;
  PFNGLFINISHPROC finish_ = nullptr;
  PFNGLFLUSHPROC flush_ = nullptr;
};

}  // namespace egl_headless
