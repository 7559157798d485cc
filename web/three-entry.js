// The parts of three.js the published page uses; esbuild tree-shakes the rest away.
export {
  AmbientLight, BufferAttribute, BufferGeometry, Color, DirectionalLight, DoubleSide, Float32BufferAttribute,
  HemisphereLight, Mesh, MeshLambertMaterial, MeshBasicMaterial, PerspectiveCamera, PlaneGeometry, Raycaster, Scene,
  ShapeUtils, SRGBColorSpace, TextureLoader, Vector2, Vector3, WebGLRenderer, Box3, EdgesGeometry, LineSegments,
  LineBasicMaterial, Group, Texture, CanvasTexture, LinearFilter
} from "three";
export { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
